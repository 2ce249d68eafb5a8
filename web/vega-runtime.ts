/**
 * The part of Vega the page's figures need: the view, the parser and the data, view and encoding
 * transforms. The `vega` package also registers geo, force, hierarchy, label, regression, voronoi,
 * word-cloud and crossfilter transforms, which the page never uses and which would make its bundle
 * larger by about a quarter.
 */
import { extend } from 'vega-util';
import { transforms } from 'vega-dataflow';
import * as dataTransforms from 'vega-transforms';
import * as viewTransforms from 'vega-view-transforms';
import * as encodeTransforms from 'vega-encode';

extend(transforms, dataTransforms, viewTransforms, encodeTransforms);

export { View } from 'vega-view';
export { parse } from 'vega-parser';
