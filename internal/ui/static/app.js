// segd UI: charts, the live feed and the segment builder. No build step; plain ES2017.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { return r.text().then(function (t) { throw new Error(t || r.statusText); }); }
      return r.json();
    });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.statusText); }
      return r.json();
    });
  }

  // el builds an element: el("select", {class: "x", onchange: fn}, child, "text", ...).
  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) { return; }
      if (k.slice(0, 2) === "on") { e.addEventListener(k.slice(2), v); }
      else if (k === "text") { e.textContent = v; }
      else { e.setAttribute(k, v === true ? "" : v); }
    });
    var add = function (c) {
      if (c === null || c === undefined || c === false) { return; }
      if (Array.isArray(c)) { c.forEach(add); return; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    };
    for (var i = 2; i < arguments.length; i++) { add(arguments[i]); }
    return e;
  }

  function fmt(n) { return Number(n).toLocaleString("en-US"); }

  function debounce(fn, ms) {
    var t = null;
    var d = function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { t = null; fn.apply(null, args); }, ms);
    };
    d.pending = function () { return t !== null; };
    d.cancel = function () { clearTimeout(t); t = null; };
    d.flush = function () { if (t !== null) { clearTimeout(t); t = null; return fn(); } };
    return d;
  }

  // ---- charts (uPlot) ----

  function chart(div, series, xs) {
    var opts = {
      width: Math.max(div.clientWidth, 280), height: 220,
      scales: { x: { time: true } },
      series: [{}].concat(series),
      axes: [{ stroke: "#616e7c", grid: { stroke: "#eef1f4" } }, { stroke: "#616e7c", grid: { stroke: "#eef1f4" }, size: 60 }]
    };
    var u = new window.uPlot(opts, [xs].concat(series.map(function (s) { return s.data; })), div);
    window.addEventListener("resize", debounce(function () { u.setSize({ width: Math.max(div.clientWidth, 280), height: 220 }); }, 150));
  }

  function initCharts() {
    document.querySelectorAll("[data-chart]").forEach(function (div) {
      getJSON(div.dataset.src).then(function (rows) {
        if (!window.uPlot) { return; }
        if (div.dataset.chart === "events-per-day") {
          chart(div, [{ label: "Events", stroke: "#2f6f8f", fill: "rgba(47,111,143,.12)", width: 2,
            data: rows.map(function (r) { return r.count; }) }],
            rows.map(function (r) { return Date.parse(r.day) / 1000; }));
        } else if (div.dataset.chart === "size-history") {
          var xs = rows.map(function (r) { return Date.parse(r.t) / 1000; });
          chart(div, [
            { label: "Size", stroke: "#2f6f8f", width: 2, data: rows.map(function (r) { return r.size; }) },
            { label: "Entered", stroke: "#2e7d4f", data: rows.map(function (r) { return r.entered; }) },
            { label: "Exited", stroke: "#b3261e", data: rows.map(function (r) { return r.exited; }) }], xs);
        }
      }).catch(function () { div.textContent = "The chart could not be loaded."; });
    });
  }

  function initFeed() {
    document.querySelectorAll("[data-feed]").forEach(function (ul) {
      var src = new EventSource(ul.dataset.feed);
      src.onmessage = function (m) {
        var e = JSON.parse(m.data);
        ul.insertBefore(el("li", {}, (e.enter ? "entered: " : "exited: "),
          el("a", { href: "/profiles/" + e.profile, text: "profile " + e.profile }), " " + (e.reason || "")), ul.firstChild);
        while (ul.children.length > 50) { ul.removeChild(ul.lastChild); }
      };
      src.onerror = function () { src.close(); };
    });
  }

  // ---- segment builder ----

  var UNITS = ["minutes", "hours", "days", "weeks", "months", "years"];
  var CMP = [">=", ">", "=", "!=", "<", "<="];
  var TRAIT_OPS = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "starts with", "ends with", "exists", "is missing", "in last"];
  var FILTER_OPS = ["=", "!=", ">", ">=", "<", "<=", "contains", "starts with", "exists"];
  var FNS = ["count", "did", "sum", "avg", "min", "max", "distinct"];
  var KINDS = { trait: "Trait", computed: "Computed trait", agg: "Behaviour", seq: "Sequence", record: "Related records", segment: "Other segment", group: "Group" };

  function Unsupported(msg) { this.message = msg; }

  function newNode(kind, schema) {
    var firstTrack = (schema.events.filter(function (e) { return e.kind === "track"; })[0] || {}).name || "";
    switch (kind) {
      case "trait": return { k: "trait", name: (schema.traits[0] || {}).name || "", op: "=", value: "" };
      case "computed": return { k: "trait", computed: true, name: (schema.computed[0] || {}).name || "", op: ">=", value: "" };
      case "agg": return { k: "agg", fn: "count", of: "", target: "track:" + firstTrack, wprop: "", wop: "=", wval: "",
        win: "last", n: 30, unit: "days", period: "week", op: ">=", value: 1 };
      case "seq": return { k: "seq", steps: [{ target: "track:" + firstTrack, not: false }, { target: "track:" + firstTrack, not: true }], within: true, n: 1, unit: "days" };
      case "record": return { k: "record", fn: "has", type: (schema.records[0] || {}).type || "", wprop: "", wop: "=", wval: "", op: ">=", value: 1 };
      case "segment": return { k: "segment", name: schema.segments[0] || "", not: false };
      case "group": return { k: "group", join: "or", items: [] };
    }
  }

  function fieldKind(list, name) {
    for (var i = 0; i < list.length; i++) { if (list[i].name === name) { return list[i].kind; } }
    return "text";
  }

  function typed(v, kind) {
    if (kind === "number") { var n = Number(v); return isNaN(n) || v === "" ? v : n; }
    if (kind === "bool") { return v === "true" ? true : v === "false" ? false : v; }
    return String(v);
  }

  function targetTree(t) {
    var i = t.indexOf(":"), kind = t.slice(0, i), name = t.slice(i + 1);
    if (kind === "track") { return { event: name }; }
    if (kind === "page" || kind === "screen") { var o = {}; o[kind] = name || true; return o; }
    return { any_event: true };
  }

  function targetFrom(o) {
    if ("event" in o) { return "track:" + o.event; }
    if ("page" in o) { return "page:" + (o.page === true ? "" : o.page); }
    if ("screen" in o) { return "screen:" + (o.screen === true ? "" : o.screen); }
    if ("any_event" in o) { return "any:"; }
    throw new Unsupported("target");
  }

  function whereTree(n, props) {
    if (!n.wprop) { return null; }
    if (n.wop === "exists") { return { property: n.wprop, op: "exists" }; }
    return { property: n.wprop, op: n.wop, value: typed(n.wval, fieldKind(props, n.wprop)) };
  }

  function whereFrom(w, n) {
    if (!w) { return; }
    if (!("property" in w) || (w.op !== "exists" && !("value" in w)) || FILTER_OPS.indexOf(w.op) < 0) { throw new Unsupported("where"); }
    n.wprop = w.property; n.wop = w.op; n.wval = w.op === "exists" ? "" : String(w.value);
  }

  function windowFrom(w, n) {
    if (!w) { n.win = "all"; return; }
    if (w.last) { n.win = "last"; n.n = w.last.n; n.unit = w.last.unit; return; }
    if (w.this) { n.win = "this"; n.period = w.this; return; }
    throw new Unsupported("window");
  }

  function windowTree(n) {
    if (n.win === "last") { return { last: { n: Number(n.n) || 1, unit: n.unit } }; }
    if (n.win === "this") { return { this: n.period }; }
    return null;
  }

  function eventProps(schema, target) {
    var i = target.indexOf(":"), kind = target.slice(0, i), name = target.slice(i + 1);
    for (var j = 0; j < schema.events.length; j++) {
      var e = schema.events[j];
      if (e.kind === kind && (kind !== "track" || e.name === name)) { return e.properties || []; }
    }
    return [];
  }

  function recordAttrs(schema, type) {
    for (var j = 0; j < schema.records.length; j++) { if (schema.records[j].type === type) { return schema.records[j].attributes || []; } }
    return [];
  }

  // toTree turns a builder node into the SegQL JSON form (null when it says nothing yet).
  function toTree(n, schema) {
    switch (n.k) {
      case "group":
        var list = n.items.map(function (x) { return toTree(x, schema); }).filter(Boolean);
        if (list.length === 0) { return null; }
        if (list.length === 1) { return list[0]; }
        var g = {}; g[n.join] = list; return g;
      case "trait":
        if (!n.name) { return null; }
        var kind = fieldKind(n.computed ? schema.computed : schema.traits, n.name);
        if (n.op === "exists" || n.op === "is missing") { return { trait: n.name, op: n.op }; }
        if (n.op === "in" || n.op === "not in") {
          return { trait: n.name, op: n.op, values: String(n.value).split(",").map(function (s) { return typed(s.trim(), kind); }).filter(function (s) { return s !== ""; }) };
        }
        if (n.op === "in last") { return { trait: n.name, time: { last: { n: Number(n.value) || 1, unit: n.unit || "days" } } }; }
        return { trait: n.name, op: n.op, value: typed(n.value, kind) };
      case "agg":
        var body = {};
        if (n.fn !== "count" && n.fn !== "did") { body.of = n.of; }
        Object.assign(body, targetTree(n.target));
        var w = whereTree(n, eventProps(schema, n.target));
        if (w) { body.where = w; }
        var win = windowTree(n);
        if (win) { body.window = win; }
        if (n.fn === "did") { return { did: body }; }
        var o = {}; o[n.fn] = body; o.op = n.op; o.value = Number(n.value) || 0; return o;
      case "seq":
        var seq = { steps: n.steps.map(function (s) { var st = s.not ? { not: true } : {}; return Object.assign(st, targetTree(s.target)); }) };
        if (n.within) { seq.within = { n: Number(n.n) || 1, unit: n.unit }; }
        return { sequence: seq };
      case "record":
        if (!n.type) { return null; }
        var rb = { record: n.type };
        var rw = whereTree(n, recordAttrs(schema, n.type));
        if (rw) { rb.where = rw; }
        if (n.fn === "has") { return { has_record: rb }; }
        return { count: rb, op: n.op, value: Number(n.value) || 0 };
      case "segment":
        if (!n.name) { return null; }
        return n.not ? { not: { in_segment: n.name } } : { in_segment: n.name };
    }
    return null;
  }

  // fromTree turns the JSON form into builder nodes, or throws Unsupported.
  function fromTree(t, schema) {
    if (t.and || t.or) {
      var join = t.and ? "and" : "or";
      return { k: "group", join: join, items: t[join].map(function (x) { return fromTree(x, schema); }) };
    }
    if ("trait" in t) {
      var computed = schema.computed.some(function (c) { return c.name === t.trait; }) &&
        !schema.traits.some(function (c) { return c.name === t.trait; });
      if (t.time && t.time.last) { return { k: "trait", computed: computed, name: t.trait, op: "in last", value: t.time.last.n, unit: t.time.last.unit }; }
      if (!t.op || TRAIT_OPS.indexOf(t.op) < 0) { throw new Unsupported("trait"); }
      var v = t.values ? t.values.join(", ") : (t.value === undefined ? "" : t.value);
      if (typeof v === "object") { throw new Unsupported("value"); }
      return { k: "trait", computed: computed, name: t.trait, op: t.op, value: String(v) };
    }
    if (t.in_segment) { return { k: "segment", name: t.in_segment, not: false }; }
    if (t.not && t.not.in_segment) { return { k: "segment", name: t.not.in_segment, not: true }; }
    if (t.has_record) {
      var r = { k: "record", fn: "has", type: t.has_record.record, wprop: "", wop: "=", wval: "", op: ">=", value: 1 };
      whereFrom(t.has_record.where, r); return r;
    }
    if (t.did) {
      var d = { k: "agg", fn: "did", of: "", target: targetFrom(t.did), wprop: "", wop: "=", wval: "", n: 30, unit: "days", period: "week", op: ">=", value: 1 };
      whereFrom(t.did.where, d); windowFrom(t.did.window, d); return d;
    }
    for (var i = 0; i < FNS.length; i++) {
      var fn = FNS[i], b = t[fn];
      if (!b || fn === "did") { continue; }
      if ("record" in b) {
        if (fn !== "count") { throw new Unsupported("record aggregate"); }
        var rc = { k: "record", fn: "count", type: b.record, wprop: "", wop: "=", wval: "", op: t.op, value: t.value };
        whereFrom(b.where, rc); return rc;
      }
      var a = { k: "agg", fn: fn, of: b.of || "", target: targetFrom(b), wprop: "", wop: "=", wval: "", n: 30, unit: "days", period: "week", op: t.op, value: t.value };
      whereFrom(b.where, a); windowFrom(b.window, a); return a;
    }
    if (t.sequence) {
      var s = t.sequence;
      if (s.window) { throw new Unsupported("sequence window"); }
      return { k: "seq", steps: s.steps.map(function (st) { if (st.where) { throw new Unsupported("step filter"); } return { target: targetFrom(st), not: !!st.not }; }),
        within: !!s.within, n: s.within ? s.within.n : 1, unit: s.within ? s.within.unit : "days" };
    }
    throw new Unsupported("condition");
  }

  function options(list, selected) {
    return list.map(function (o) {
      var v = typeof o === "string" ? o : o.value, label = typeof o === "string" ? o : o.label;
      return el("option", { value: v, selected: String(v) === String(selected) }, label);
    });
  }

  function initBuilder() {
    var root = document.getElementById("builder");
    if (!root) { return; }
    var editor = document.getElementById("segql-editor");
    var mirror = document.getElementById("segql-mirror");
    var diagList = document.getElementById("diagnostics");
    var note = document.getElementById("builder-note");
    var countEl = document.getElementById("estimate-count");
    var tookEl = document.getElementById("estimate-took");
    var condList = document.getElementById("condition-counts");
    var form = document.getElementById("segment-form");
    var segName = document.getElementById("seg-name");
    var schema = null, state = { k: "group", join: "and", items: [] }, seq = 0, textOnly = false, lastConditions = [];

    function eventChoices() {
      var out = schema.events.filter(function (e) { return e.kind === "track"; }).map(function (e) { return { value: "track:" + e.name, label: e.name }; });
      out.push({ value: "page:", label: "any page view" }, { value: "screen:", label: "any screen view" }, { value: "any:", label: "any event" });
      return out;
    }

    function control(tag, n, field, attrs, children) {
      attrs = attrs || {};
      attrs["data-field"] = field;
      var typing = debounce(function (ev) { set(n, field, ev.target, true); }, 300);
      attrs.onchange = function (ev) { typing.cancel(); set(n, field, ev.target); };
      if (tag === "input") { attrs.oninput = typing; }
      var c = el(tag, attrs);
      (children || []).forEach(function (x) { c.appendChild(x); });
      if (tag === "input" && n[field] !== undefined) { c.value = n[field]; }
      return c;
    }

    // structural fields re-render the builder; values only re-sync the text
    var STRUCTURAL = { name: 1, op: 1, fn: 1, target: 1, win: 1, type: 1, wprop: 1, wop: 1, within: 1, kind: 1, join: 1 };
    function set(n, field, target, typing) {
      n[field] = target.type === "checkbox" ? target.checked : target.value;
      if (STRUCTURAL[field] && !typing) { render(); }
      builderChanged();
    }

    function windowControls(n, path) {
      var out = [control("select", n, "win", { "aria-label": "Time window" }, options([
        { value: "last", label: "in the last" }, { value: "this", label: "in this" }, { value: "all", label: "at any time" }], n.win))];
      if (n.win === "last") {
        out.push(control("input", n, "n", { type: "number", min: 1, "aria-label": "Window length" }));
        out.push(control("select", n, "unit", { "aria-label": "Window unit" }, options(UNITS, n.unit)));
      } else if (n.win === "this") {
        out.push(control("select", n, "period", { "aria-label": "Calendar period" }, options(["day", "week", "month", "year"], n.period)));
      }
      return out;
    }

    function whereControls(n, props) {
      var out = [el("span", { class: "muted" }, "where"),
        control("select", n, "wprop", { "aria-label": "Filter property" }, options([{ value: "", label: "(no filter)" }].concat(props.map(function (p) { return { value: p.name, label: p.name }; })), n.wprop))];
      if (n.wprop) {
        out.push(control("select", n, "wop", { "aria-label": "Filter operator" }, options(FILTER_OPS, n.wop)));
        if (n.wop !== "exists") { out.push(control("input", n, "wval", { "aria-label": "Filter value", size: 10 })); }
      }
      return out;
    }

    function condBody(n) {
      switch (n.k) {
        case "trait":
          var list = n.computed ? schema.computed : schema.traits;
          var names = list.map(function (t) { return { value: t.name, label: t.name + " (" + t.kind + ")" }; });
          if (n.name && !list.some(function (t) { return t.name === n.name; })) { names.unshift({ value: n.name, label: n.name + " (unknown)" }); }
          var out = [control("select", n, "name", { "aria-label": n.computed ? "Computed trait" : "Trait" }, options(names, n.name)),
            control("select", n, "op", { "aria-label": "Operator" }, options(TRAIT_OPS, n.op))];
          if (n.op === "in last") {
            out.push(control("input", n, "value", { type: "number", min: 1, "aria-label": "Length" }),
              control("select", n, "unit", { "aria-label": "Unit" }, options(UNITS, n.unit || "days")));
          } else if (n.op !== "exists" && n.op !== "is missing") {
            out.push(control("input", n, "value", { "aria-label": "Value", placeholder: n.op === "in" || n.op === "not in" ? "a, b, c" : "value" }));
          }
          return out;
        case "agg":
          var props = eventProps(schema, n.target);
          var o = [control("select", n, "fn", { "aria-label": "Measure" }, options(FNS, n.fn))];
          if (n.fn !== "count" && n.fn !== "did") {
            o.push(control("select", n, "of", { "aria-label": "Property" }, options([{ value: "", label: "(property)" }].concat(props.map(function (p) { return { value: p.name, label: p.name }; })), n.of)), el("span", { class: "muted" }, "of"));
          }
          o.push(control("select", n, "target", { "aria-label": "Event" }, options(eventChoices(), n.target)));
          o = o.concat(whereControls(n, props), windowControls(n));
          if (n.fn !== "did") {
            o.push(control("select", n, "op", { "aria-label": "Comparison" }, options(CMP, n.op)),
              control("input", n, "value", { type: "number", "aria-label": "Compared with" }));
          }
          return o;
        case "seq":
          var s = [];
          n.steps.forEach(function (st, i) {
            if (i > 0) { s.push(el("span", { class: "muted" }, "then")); }
            if (i === n.steps.length - 1 && i > 0) {
              s.push(el("label", { class: "inline" }, control("input", st, "not", { type: "checkbox", "aria-label": "Step did not happen", checked: st.not }), " not"));
            }
            s.push(control("select", st, "target", { "aria-label": "Step " + (i + 1) + " event" }, options(eventChoices(), st.target)));
          });
          s.push(el("button", { type: "button", class: "small", onclick: function () { n.steps.splice(n.steps.length - 1, 0, { target: n.steps[0].target, not: false }); render(); builderChanged(); } }, "+ step"));
          s.push(el("label", { class: "inline" }, control("input", n, "within", { type: "checkbox", checked: n.within, "aria-label": "Time limit" }), " within"));
          if (n.within) {
            s.push(control("input", n, "n", { type: "number", min: 1, "aria-label": "Time limit length" }), control("select", n, "unit", { "aria-label": "Time limit unit" }, options(UNITS, n.unit)));
          }
          return s;
        case "record":
          var r = [control("select", n, "fn", { "aria-label": "Record test" }, options([{ value: "has", label: "has a" }, { value: "count", label: "count of" }], n.fn)),
            control("select", n, "type", { "aria-label": "Record type" }, options(schema.records.map(function (x) { return x.type; }), n.type))];
          r = r.concat(whereControls(n, recordAttrs(schema, n.type)));
          if (n.fn === "count") { r.push(control("select", n, "op", { "aria-label": "Comparison" }, options(CMP, n.op)), control("input", n, "value", { type: "number", "aria-label": "Compared with" })); }
          return r;
        case "segment":
          return [control("select", n, "not", { "aria-label": "Membership" }, options([{ value: "", label: "is in" }, { value: "true", label: "is not in" }], n.not ? "true" : "")),
            control("select", n, "name", { "aria-label": "Segment" }, options(schema.segments, n.name))];
      }
      return [];
    }

    function renderGroup(g, path, parent) {
      var box = el("div", { class: "group", role: "group", "aria-label": path ? "Group" : "All conditions", "data-path": path });
      box.appendChild(el("div", { class: "group-head" },
        el("span", {}, "Profiles matching"),
        control("select", g, "join", { "aria-label": "Join conditions with" }, options([{ value: "and", label: "all" }, { value: "or", label: "any" }], g.join)),
        el("span", {}, "of these conditions"),
        parent ? el("button", { type: "button", class: "icon remove", "aria-label": "Remove group", onclick: function () { parent.items.splice(parent.items.indexOf(g), 1); render(); builderChanged(); } }, "✕") : null));
      g.items.forEach(function (n, i) {
        var p = path ? path + "." + i : String(i);
        if (n.k === "group") { box.appendChild(renderGroup(n, p, g)); return; }
        var kind = n.k === "trait" && n.computed ? "computed" : n.k;
        var row = el("div", { class: "cond", "data-path": p, "data-kind": kind }, el("span", { class: "kind" }, KINDS[kind]));
        if (n.k === "segment") { n.not = n.not === true || n.not === "true"; }
        condBody(n).forEach(function (c) { row.appendChild(c); });
        if (!path && lastConditions[i] !== undefined && g.items.length > 1) {
          row.appendChild(el("span", { class: "cond-count", title: "this condition alone keeps" }, "alone: " + fmt(lastConditions[i])));
        }
        row.appendChild(el("button", { type: "button", class: "icon remove", "aria-label": "Remove condition", onclick: function () { g.items.splice(i, 1); render(); builderChanged(); } }, "✕"));
        box.appendChild(row);
      });
      var picker = el("select", { "aria-label": "Condition type", "data-field": "add-kind" }, options(Object.keys(KINDS).map(function (k) { return { value: k, label: KINDS[k] }; }), "agg"));
      box.appendChild(el("div", { class: "group-actions" }, picker,
        el("button", { type: "button", "data-action": "add", onclick: function () { g.items.push(newNode(picker.value, schema)); render(); builderChanged(); } }, "Add condition")));
      return box;
    }

    function render() {
      var active = document.activeElement, key = null;
      if (active && root.contains(active)) {
        var holder = active.closest("[data-path]");
        key = [holder ? holder.dataset.path : "", active.dataset.field];
      }
      root.textContent = "";
      if (textOnly) {
        root.appendChild(el("p", { class: "muted" }, "This definition uses conditions the visual builder cannot show. Edit it as text below, or ",
          el("button", { type: "button", class: "small", onclick: function () { textOnly = false; state = { k: "group", join: "and", items: [] }; render(); builderChanged(); } }, "start over in the builder"), "."));
        return;
      }
      root.appendChild(renderGroup(state, "", null));
      if (key) {
        var sel = (key[0] ? '[data-path="' + key[0] + '"] ' : "") + '[data-field="' + key[1] + '"]';
        var again = root.querySelector(sel);
        if (again) { again.focus(); }
      }
    }

    function byteIndex(text, off) {
      var b = 0;
      for (var i = 0; i < text.length; i++) {
        if (b >= off) { return i; }
        var c = text.charCodeAt(i);
        b += c < 0x80 ? 1 : c < 0x800 ? 2 : (c >= 0xd800 && c < 0xdc00) ? (i++, 4) : 3;
      }
      return text.length;
    }

    function showDiagnostics(text, errs) {
      mirror.textContent = "";
      diagList.textContent = "";
      var pos = 0;
      var spans = errs.filter(function (e) { return e.line > 0; }).sort(function (a, b) { return a.offset - b.offset; });
      spans.forEach(function (e) {
        var s = byteIndex(text, e.offset), t = Math.max(byteIndex(text, e.end), s + 1);
        if (s < pos) { return; }
        mirror.appendChild(document.createTextNode(text.slice(pos, s)));
        mirror.appendChild(el("span", { class: e.warning ? "segql-warning" : "segql-error", "data-offset": e.offset, "data-end": e.end, "data-code": e.code }, text.slice(s, t) || " "));
        pos = t;
      });
      mirror.appendChild(document.createTextNode(text.slice(pos) + "\n"));
      errs.forEach(function (e) {
        var li = el("li", { class: e.warning ? "warning" : "error", "data-code": e.code },
          (e.line ? e.line + ":" + e.col + ": " : "") + (e.warning ? "warning: " : "") + e.message);
        if (e.suggestion && e.line) {
          li.appendChild(el("button", { type: "button", class: "small suggestion", "data-suggestion": e.suggestion, onclick: function () {
            var s = byteIndex(editor.value, e.offset), t = byteIndex(editor.value, e.end);
            var old = editor.value.slice(s, t);
            var rep = old.charAt(0) === '"' ? JSON.stringify(e.suggestion) : (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(e.suggestion) ? e.suggestion : "`" + e.suggestion + "`");
            editor.value = editor.value.slice(0, s) + rep + editor.value.slice(t);
            editorChanged();
          } }, "Use “" + e.suggestion + "”"));
        }
        diagList.appendChild(li);
      });
    }

    function showEstimate(res) {
      var box = countEl.closest(".estimate");
      box.classList.remove("stale");
      condList.textContent = "";
      lastConditions = [];
      if (res.count === undefined || res.count === null) {
        countEl.textContent = "—";
        tookEl.textContent = res.errors && res.errors.some(function (e) { return !e.warning; }) ? "Fix the errors to see the size." : "";
        return;
      }
      countEl.textContent = fmt(res.count);
      tookEl.textContent = "counted in " + (res.took_ns / 1e6).toFixed(1) + " ms";
      (res.conditions || []).forEach(function (c) {
        lastConditions.push(c.count);
        condList.appendChild(el("li", {}, "this condition alone keeps ", el("strong", {}, fmt(c.count)), el("code", {}, c.text)));
      });
      root.querySelectorAll(':scope > .group > .cond').forEach(function (row) {
        var i = Number(row.dataset.path), old = row.querySelector(".cond-count");
        if (old) { old.remove(); }
        if (lastConditions[i] !== undefined) {
          row.insertBefore(el("span", { class: "cond-count", title: "this condition alone keeps" }, "alone: " + fmt(lastConditions[i])), row.querySelector(".remove"));
        }
      });
    }

    function request(body) {
      var my = ++seq;
      countEl.closest(".estimate").classList.add("stale");
      body.estimate = true;
      body.segment = segName.value || "";
      return postJSON("/ui/check", body).then(function (res) { return my === seq ? res : null; });
    }

    // builder → tree → canonical text
    var syncFromBuilder = debounce(function () {
      var t = toTree(state, schema);
      if (!t) { editor.value = ""; showDiagnostics("", []); showEstimate({}); return; }
      return request({ tree: t }).then(function (res) {
        if (!res) { return; }
        editor.value = res.text;
        showDiagnostics(res.text, res.errors);
        showEstimate(res);
        editor.dispatchEvent(new Event("segql:synced", { bubbles: true }));
      }).catch(function (err) { note.textContent = "Could not check: " + err.message; });
    }, 150);
    function builderChanged() { syncFromText.cancel(); syncFromBuilder(); }

    // text → tree → builder
    var syncFromText = debounce(function () {
      var text = editor.value;
      if (!text.trim()) { showDiagnostics("", []); showEstimate({}); return; }
      return request({ text: text }).then(function (res) {
        if (!res) { return; }
        showDiagnostics(text, res.errors);
        showEstimate(res);
        if (res.tree) {
          try {
            var n = fromTree(res.tree, schema);
            state = n.k === "group" ? n : { k: "group", join: "and", items: [n] };
            textOnly = false; note.textContent = "";
          } catch (e) {
            if (!(e instanceof Unsupported)) { throw e; }
            textOnly = true;
          }
          render();
        }
        editor.dispatchEvent(new Event("segql:synced", { bubbles: true }));
      }).catch(function (err) { note.textContent = "Could not check: " + err.message; });
    }, 350);
    function editorChanged() { syncFromBuilder.cancel(); countEl.closest(".estimate").classList.add("stale"); syncFromText(); }

    editor.addEventListener("input", editorChanged);
    editor.addEventListener("scroll", function () { mirror.scrollTop = editor.scrollTop; });
    form.addEventListener("submit", function (ev) {
      if (syncFromBuilder.pending() || syncFromText.pending()) {
        // the text sent must be the one the builder shows: finish the pending sync, then submit
        ev.preventDefault();
        var done = function () { form.submit(); };
        Promise.all([syncFromBuilder.flush(), syncFromText.flush()]).then(done, done);
      }
    });

    getJSON("/ui/schema").then(function (s) {
      schema = s;
      ["traits", "computed", "events", "records", "segments"].forEach(function (k) { schema[k] = schema[k] || []; });
      render();
      if (editor.value.trim()) { syncFromText(); syncFromText.flush(); }
    }).catch(function (err) { root.textContent = "The builder could not load the schema: " + err.message; });
  }

  function init() {
    initCharts();
    initFeed();
    initBuilder();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
