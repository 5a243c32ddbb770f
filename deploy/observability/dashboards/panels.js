// @ts-check
// Builders for the *.dashboard.js sources (see generate.js): a panel reads as its kind, title,
// size, unit, queries and options, so a dashboard file is the list of what it shows rather than
// the same object shape written out again for every panel.
"use strict";

/**
 * @typedef {import("./generate").Panel} Panel
 * @typedef {import("./generate").Query} Query
 * @typedef {import("./generate").Row} Row
 * @typedef {import("./generate").Variable} Variable
 * @typedef {import("./generate").Dashboard} Dashboard
 * @typedef {Omit<Panel, "type" | "title" | "width" | "height" | "unit" | "queries">} PanelOptions
 *   description, mayBeEmpty, min, max, decimals, stacked, instant, thresholds
 */

/**
 * @param {string} expr  PromQL
 * @param {string} legend
 * @returns {Query}
 */
const query = (expr, legend) => ({ expr, legend });

/** @param {Panel["type"]} type */
const panelOfType =
  (type) =>
  /**
   * @param {string} title
   * @param {[width: number, height: number]} size  Grafana grid columns (of 24) and rows
   * @param {string} unit  Grafana unit id
   * @param {Query[]} queries
   * @param {PanelOptions} [options]
   * @returns {Panel}
   */
  (title, [width, height], unit, queries, options = {}) => ({ type, title, width, height, unit, ...options, queries });

/**
 * A row of panels; they flow left to right, wrapping at the grid's width.
 * @param {string} title
 * @param {Panel[]} panels
 * @returns {Row}
 */
const row = (title, panels) => ({ title, panels });

/**
 * A dashboard: its generated files' base name (the source file is <file>.dashboard.js), Grafana uid,
 * title and tags, then what it shows.
 * @param {string} file
 * @param {string} uid
 * @param {string} title
 * @param {string[]} tags
 * @param {Omit<Dashboard, "file" | "uid" | "title" | "tags">} content
 * @returns {Dashboard}
 */
const dashboard = (file, uid, title, tags, content) => ({ file, uid, title, tags, ...content });

/**
 * A multi-value filter on a label (All = any value), offering the values the query finds.
 * @param {string} name
 * @param {string} label
 * @param {string} query  e.g. label_values(db_up, pool)
 * @returns {Variable}
 */
const labelFilter = (name, label, query) => ({ name, label, query });

module.exports = {
  dashboard,
  labelFilter,
  query,
  row,
  timeseries: panelOfType("timeseries"),
  stat: panelOfType("stat"),
  bargauge: panelOfType("bargauge"),
  /** Shows 0 as DOWN and 1 as UP. */
  stateTimeline: panelOfType("state-timeline"),
};
