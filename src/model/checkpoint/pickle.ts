/**
 * A minimal, safe unpickler for the binary pickle opcodes (protocols 2-5) that `torch.save` writes.
 *
 * It never executes anything. GLOBAL / STACK_GLOBAL resolve only through the caller's table of
 * whitelisted globals (any other global is an error naming it); REDUCE calls only the plain-JS
 * builders found in that table; BINPERSID references go to the caller's `persistentLoad`. Everything
 * else becomes a plain JS value, see `PyValue`. Malformed input is always a `CheckpointError`.
 */
import { CheckpointError } from './errors.js';

/**
 * A Python value: None -> null, bool, int (number, or bigint beyond 2^53), float (number), str,
 * bytes (Uint8Array), list (Array), tuple (PyTuple), dict (Map), or an object built by a caller's
 * global (PyObject: a tensor reference, a storage type, a builder function...).
 */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyObject;

/** A Python dict (or OrderedDict); keys are compared with SameValueZero, which suits str and int keys. */
export type PyDict = Map<PyValue, PyValue>;

/** A Python tuple; a class of its own so that a tuple and a list stay distinguishable. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A value of a type the unpickler itself does not know; `pyType` names it in error messages. */
export interface PyObject {
  readonly pyType: string;
}

/** A whitelisted callable: REDUCE with an argument tuple calls `call` with the tuple's items. */
export class PyFunction implements PyObject {
  constructor(
    readonly pyType: string,
    readonly call: (args: readonly PyValue[]) => PyValue,
  ) {}
}

export interface UnpickleOptions {
  /** The only globals a pickle may name, keyed by "module.name" (e.g. "collections.OrderedDict"). */
  globals: ReadonlyMap<string, PyValue>;
  /** Resolves a BINPERSID reference; without it a persistent id is an error. */
  persistentLoad?: (pid: PyValue) => PyValue;
}

/** The Python type name of a value, for error messages ("list", "dict", "torch.Tensor"...). */
export function pyTypeName(value: PyValue): string {
  if (value === null) return 'None';
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  if (value instanceof PyTuple) return 'tuple';
  if (value instanceof Map) return 'dict';
  return value.pyType;
}

const utf8 = new TextDecoder('utf-8');

/** The largest protocol whose opcodes this reader may meet (Python 3.8+ writes up to 5). */
const HIGHEST_PROTOCOL = 5;

/**
 * Bounds a checkpoint never comes near, so that a small hostile pickle cannot cost minutes or gigabytes:
 * the widest integer a checkpoint holds is the 80-bit legacy magic number (BigInt building is quadratic
 * in the width); state dicts nest a few levels deep and hold a few thousand entries; a memo index cannot
 * exceed the number of opcodes, which is at most the pickle's length.
 */
const MAX_LONG_BYTES = 16;
const MAX_MARK_DEPTH = 1000;
const MAX_ITEMS = 1 << 20;

/**
 * Unpickle the one pickle that starts at `offset` in `bytes` and return its value and the offset just
 * past its STOP opcode (several pickles may follow one another, as in legacy torch checkpoints).
 */
export function unpickle(bytes: Uint8Array, offset: number, options: UnpickleOptions): { value: PyValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = offset;
  /** Where the opcode being executed starts (absolute, for error messages). */
  let opStart = offset;
  /** The values pushed since the innermost MARK; the enclosing frames wait on markStack (as in CPython). */
  let stack: PyValue[] = [];
  const markStack: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  /** Advance over `count` argument bytes and return where they start. */
  const take = (count: number): number => {
    if (count < 0 || pos + count > bytes.length) throw new CheckpointError('truncated pickle');
    const start = pos;
    pos += count;
    return start;
  };
  const u8 = (): number => bytes[take(1)]!;
  const u32 = (): number => view.getUint32(take(4), true);
  const u64 = (): number => Number(view.getBigUint64(take(8), true));
  const text = (count: number): string => {
    const start = take(count);
    return utf8.decode(bytes.subarray(start, start + count));
  };
  const raw = (count: number): Uint8Array => {
    const start = take(count);
    return bytes.slice(start, start + count);
  };
  /** A newline-terminated line of text (the arguments of GLOBAL). */
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new CheckpointError('truncated pickle');
    return text(end - pos + 1).slice(0, -1);
  };
  /** A little-endian two's-complement integer of `count` bytes (LONG1, LONG4). */
  const long = (count: number): number | bigint => {
    if (count > MAX_LONG_BYTES) {
      throw new CheckpointError(`unsupported pickle: a ${count}-byte integer at byte ${opStart} (a checkpoint needs at most ${MAX_LONG_BYTES} bytes)`);
    }
    const start = take(count);
    let result = 0n;
    for (let i = count - 1; i >= 0; i--) result = (result << 8n) | BigInt(bytes[start + i]!);
    if (count > 0 && bytes[start + count - 1]! >= 0x80) result -= 1n << BigInt(8 * count);
    return result >= BigInt(Number.MIN_SAFE_INTEGER) && result <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(result) : result;
  };

  const pop = (): PyValue => {
    if (stack.length === 0) throw new CheckpointError(`corrupt pickle: stack underflow at byte ${opStart}`);
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new CheckpointError(`corrupt pickle: stack underflow at byte ${opStart}`);
    return stack[stack.length - 1]!;
  };
  /** Pop everything pushed since the last MARK, and the mark itself. */
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = markStack.pop();
    if (outer === undefined) throw new CheckpointError(`corrupt pickle: no MARK before byte ${opStart}`);
    stack = outer;
    return items;
  };
  const memoPut = (index: number): void => {
    if (index > bytes.length) throw new CheckpointError(`corrupt pickle: memo index ${index} at byte ${opStart} exceeds the pickle's length`);
    memo.set(index, top());
  };
  const memoGet = (index: number): PyValue => {
    const value = memo.get(index);
    if (value === undefined) throw new CheckpointError(`corrupt pickle: memo entry ${index} used before it was set`);
    return value;
  };
  const resolveGlobal = (module: string, name: string): PyValue => {
    const value = options.globals.get(`${module}.${name}`);
    if (value === undefined) throw new CheckpointError(`unsupported pickle global '${module}.${name}'`);
    return value;
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (!(dict instanceof Map)) throw new CheckpointError(`corrupt pickle: SETITEM on a ${pyTypeName(dict)}`);
    if (items.length % 2 !== 0) throw new CheckpointError('corrupt pickle: odd number of items in SETITEMS');
    if (dict.size + items.length / 2 > MAX_ITEMS) throw new CheckpointError(`unsupported pickle: a dict of more than ${MAX_ITEMS} items at byte ${opStart}`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
  };
  const append = (list: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(list)) throw new CheckpointError(`corrupt pickle: APPEND to a ${pyTypeName(list)}`);
    if (list.length + items.length > MAX_ITEMS) throw new CheckpointError(`unsupported pickle: a list of more than ${MAX_ITEMS} items at byte ${opStart}`);
    for (const item of items) list.push(item);
  };

  for (;;) {
    if (stack.length > MAX_ITEMS) throw new CheckpointError(`unsupported pickle: more than ${MAX_ITEMS} values on the stack at byte ${opStart}`);
    opStart = pos;
    const opcode = u8();
    switch (opcode) {
      case 0x80: {
        // PROTO
        const protocol = u8();
        if (protocol > HIGHEST_PROTOCOL) throw new CheckpointError(`unsupported pickle protocol ${protocol}`);
        break;
      }
      case 0x95: // FRAME: a length prefix that only helps buffered readers
        take(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        if (markStack.length >= MAX_MARK_DEPTH) throw new CheckpointError(`unsupported pickle: more than ${MAX_MARK_DEPTH} nested MARKs at byte ${opStart}`);
        markStack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(take(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(take(2), true));
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(take(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str; torch.load decodes it as UTF-8)
        stack.push(text(view.getInt32(take(4), true)));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(raw(u64()));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: {
        // TUPLE (popMark replaces `stack`, so call it before touching `stack`)
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new CheckpointError(`corrupt pickle: STACK_GLOBAL with non-string names at byte ${opStart}`);
        }
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args), only for whitelisted builders
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PyFunction)) throw new CheckpointError(`corrupt pickle: cannot call a ${pyTypeName(callable)}`);
        if (!(args instanceof PyTuple)) throw new CheckpointError(`corrupt pickle: arguments of ${callable.pyType} are not a tuple`);
        stack.push(callable.call(args.items));
        break;
      }
      case 0x62: {
        // BUILD: only instance attributes of an OrderedDict (the `_metadata` of a state dict), which are dropped
        const state = pop();
        const target = top();
        if (!(target instanceof Map)) {
          throw new CheckpointError(`unsupported pickle: cannot set the state of a ${pyTypeName(target)} (${pyTypeName(state)})`);
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) throw new CheckpointError(`corrupt pickle: unexpected persistent id at byte ${opStart}`);
        stack.push(options.persistentLoad(pid));
        break;
      }
      default:
        throw new CheckpointError(`corrupt pickle: unknown opcode 0x${opcode.toString(16).padStart(2, '0')} at byte ${opStart}`);
    }
  }
}
