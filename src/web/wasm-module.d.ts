// The edge bundle inlines binary files (esbuild's `binary` loader): importing one gives its bytes.
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
