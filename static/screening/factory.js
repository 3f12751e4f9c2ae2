// The zero-code model factory: drag steps from the palette onto the canvas (SortableJS), connect
// them (each step reads the one above it unless another input is chosen), pick columns from
// drop-downs filled from the chosen datasets, preview any step on a sample, save as a model.
// The canvas edits the same JSON rule spec the API and the built-in models use.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("factory-data").textContent);
  var T = data.i18n;
  var start = data.start || {};
  var state = {
    steps: JSON.parse(JSON.stringify((start.spec && start.spec.steps) || [])),
    datasets: Object.assign({}, start.datasets || {}),
  };
  var canvas = document.getElementById("canvas");
  var preview = document.getElementById("preview");
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  canvas.setAttribute("data-empty", T.drop_here);

  var OPS = ["=", "!=", ">", ">=", "<", "<=", "in", "not_in", "between", "is_null", "not_null", "contains"];
  var OP_OPTIONS = OPS.map(function (o) { return [o, (data.ops || {})[o] || o]; });
  var JOIN_OPTIONS = ["inner", "semi", "anti"].map(function (o) { return [o, (data.joins || {})[o] || o]; });
  var STAT_OPTIONS = ["median", "mean"].map(function (o) { return [o, (data.stats || {})[o] || o]; });
  // Columns the engine adds are shown by their meaning; their value stays the column name.
  function colOptions(names) {
    return (names || []).map(function (n) { return [n, (data.columns || {})[n] || n]; });
  }
  function stepName(id) {
    var i = state.steps.findIndex(function (x) { return x.id === id; });
    if (i < 0) return id;
    return T.step_n.replace("%(n)s", i + 1) + " · " + (data.steps[state.steps[i].type] || "");
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function newId(type) {
    var n = 1, id;
    do { id = type + n; n += 1; } while (state.steps.some(function (s) { return s.id === id; }));
    return id;
  }

  function defaults(type, prev) {
    switch (type) {
      case "source": return { dataset: newRole() };
      case "filter": case "threshold": return { input: prev, conditions: [{ field: "", op: "=", value: "" }] };
      case "keyword": return { input: prev, conditions: [{ field: "", any_of: [] }] };
      case "join": return { left: prev, right: "", how: "inner", on: [{ left: "", right: "" }] };
      case "window": return { input: prev, partition_by: [], date_field: "", window_days: 30 };
      case "peer": return { input: prev, value_field: "", group_by: [], stat: "median", factor: 3 };
      case "emit": return { input: prev, group_by: [], subject_field: "", title: "" };
    }
    return {};
  }

  function newRole() {
    var n = 1, role;
    var used = state.steps.map(function (s) { return s.dataset; });
    do { role = "data" + n; n += 1; } while (used.indexOf(role) >= 0);
    return role;
  }

  function datasetById(id) {
    return data.datasets.filter(function (d) { return String(d.id) === String(id); })[0];
  }

  // Columns each step outputs, computed like the server's compiler does.
  function columnMap() {
    var cols = {};
    state.steps.forEach(function (s) {
      var base = [];
      if (s.type === "source") {
        var ds = datasetById(state.datasets[s.dataset]);
        base = ["_row"].concat(ds ? ds.columns.map(function (c) { return c.name; }) : []);
      } else if (s.type === "join") {
        base = (cols[s.left] || []).slice();
        if (s.how !== "semi" && s.how !== "anti") {
          (cols[s.right] || []).forEach(function (c) { if (c !== "_row") base.push((s.prefix || "r.") + c); });
        }
      } else if (s.type !== "emit") {
        base = (cols[s.input] || []).slice();
        if (s.type === "window") {
          base.push("_window_count", "_window_start");
          if (s.value_field) base.push("_window_sum");
        }
        if (s.type === "peer") base.push("_peer_value", "_ratio", "_peer_count");
      }
      cols[s.id] = base;
    });
    return cols;
  }

  function checkboxes(label, options, value, onchange, testid) {
    var box = el("fieldset", { "class": "checks" }, [el("legend", { text: label })]);
    if (testid) box.setAttribute("data-testid", testid);
    var chosen = (value || []).slice();
    options.forEach(function (o) {
      var v = Array.isArray(o) ? o[0] : o, t = Array.isArray(o) ? o[1] : o;
      var cb = el("input", { type: "checkbox", value: v });
      cb.checked = chosen.indexOf(v) >= 0;
      cb.addEventListener("change", function () {
        chosen = chosen.filter(function (x) { return x !== v; });
        if (cb.checked) chosen.push(v);
        onchange(chosen);
      });
      box.appendChild(el("label", {}, [cb, document.createTextNode(" " + t)]));
    });
    return box;
  }

  function select(label, options, value, onchange, multiple, testid) {
    if (multiple) return checkboxes(label, options, value, onchange, testid);
    var sel = el("select", multiple ? { multiple: "multiple" } : {});
    if (testid) sel.setAttribute("data-testid", testid);
    if (!multiple) sel.appendChild(el("option", { value: "", text: T.none }));
    options.forEach(function (o) {
      var v = Array.isArray(o) ? o[0] : o, t = Array.isArray(o) ? o[1] : o;
      var opt = el("option", { value: v, text: t });
      if (multiple ? (value || []).indexOf(v) >= 0 : String(value) === String(v)) opt.selected = true;
      sel.appendChild(opt);
    });
    sel.addEventListener("change", function () {
      if (multiple) onchange(Array.prototype.filter.call(sel.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }));
      else onchange(sel.value);
    });
    return el("label", {}, [document.createTextNode(label), sel]);
  }

  function input(label, value, onchange, type, testid) {
    var i = el("input", { type: type || "text", value: value == null ? "" : value });
    if (testid) i.setAttribute("data-testid", testid);
    i.addEventListener("change", function () { onchange(i.value); });
    return el("label", {}, [document.createTextNode(label), i]);
  }

  function earlier(step) {
    var out = [];
    for (var i = 0; i < state.steps.length && state.steps[i] !== step; i++) {
      if (state.steps[i].type !== "emit") out.push([state.steps[i].id, stepName(state.steps[i].id)]);
    }
    return out;
  }

  function fieldsFor(s, cols) {
    var f = [], mine = cols[s.input] || [];
    var set = function (k, conv) { return function (v) { s[k] = conv ? conv(v) : v; render(); }; };
    if (s.type === "source") {
      if ((data.roles || {})[s.dataset]) f.push(el("span", { "class": "muted", text: data.roles[s.dataset] }));
      f.push(input(T.role, s.dataset, function (v) {
        var id = state.datasets[s.dataset]; delete state.datasets[s.dataset];
        s.dataset = v; if (id) state.datasets[v] = id; render();
      }));
      f.push(select(T.dataset, data.datasets.map(function (d) { return [String(d.id), d.name + " (" + d.unit + ")"]; }),
        state.datasets[s.dataset] || "", function (v) {
          if (v) state.datasets[s.dataset] = parseInt(v, 10); else delete state.datasets[s.dataset];
          render();
        }, false, "dataset-" + s.id));
    } else if (s.type !== "join") {
      f.push(select(T.input, earlier(s), s.input, set("input")));
    }
    if (s.type === "filter" || s.type === "threshold") {
      (s.conditions || []).forEach(function (c, i) {
        f.push(select(T.field, colOptions(mine), c.field, function (v) { c.field = v; render(); }, false,
          s.id + "-field-" + i));
        f.push(select(T.op, OP_OPTIONS, c.op || "=", function (v) { c.op = v; render(); }));
        if (c.other_field !== undefined) {
          f.push(select(T.field, colOptions(mine), c.other_field, function (v) { c.other_field = v; render(); }));
        } else if (c.op === "between") {
          f.push(input(T.from, c.from, function (v) { c.from = v; }));
          f.push(input(T.to, c.to, function (v) { c.to = v; }));
        } else if (c.op === "in" || c.op === "not_in") {
          f.push(input(T.value, (c.values || []).join(","), function (v) {
            c.values = v.split(/[,，]/).map(function (x) { return x.trim(); }).filter(Boolean);
          }));
        } else if (c.op !== "is_null" && c.op !== "not_null") {
          f.push(input(T.value, c.value, function (v) { c.value = v; }, "text", s.id + "-value-" + i));
        }
      });
      f.push(el("button", { type: "button", text: T.add_condition, onclick: function () {
        s.conditions.push({ field: "", op: "=", value: "" }); render();
      } }));
    } else if (s.type === "keyword") {
      (s.conditions || []).forEach(function (c) {
        var mode = c.all_of ? "all_of" : "any_of";
        f.push(select(T.field, colOptions(mine), c.field, function (v) { c.field = v; render(); }));
        f.push(select(T.mode, [["any_of", T.any], ["all_of", T.all]], mode, function (v) {
          var words = c[mode] || []; delete c.any_of; delete c.all_of; c[v] = words; render();
        }));
        f.push(input(T.words, (c[mode] || []).join(","), function (v) {
          c[mode] = v.split(/[,，]/).map(function (x) { return x.trim(); }).filter(Boolean);
        }));
      });
      f.push(el("button", { type: "button", text: T.add_condition, onclick: function () {
        s.conditions.push({ field: "", any_of: [] }); render();
      } }));
    } else if (s.type === "join") {
      var ids = earlier(s);
      f.push(select(T.left, ids, s.left, set("left")));
      f.push(select(T.right, ids, s.right, set("right")));
      f.push(select(T.how, JOIN_OPTIONS, s.how || "inner", set("how")));
      (s.on || []).forEach(function (p) {
        f.push(select(T.left, colOptions(cols[s.left]), p.left, function (v) { p.left = v; render(); }));
        f.push(select(T.right, colOptions(cols[s.right]), p.right, function (v) { p.right = v; render(); }));
      });
      f.push(el("button", { type: "button", text: T.add_key, onclick: function () {
        s.on.push({ left: "", right: "" }); render();
      } }));
    } else if (s.type === "window") {
      f.push(select(T.partition_by, colOptions(mine), s.partition_by, set("partition_by"), true,
        s.id + "-partition"));
      f.push(select(T.date_field, colOptions(mine), s.date_field, set("date_field")));
      f.push(input(T.window_days, s.window_days, set("window_days", function (v) { return parseInt(v, 10) || 1; }),
        "number"));
      f.push(select(T.value_field, colOptions(mine), s.value_field || "", set("value_field")));
    } else if (s.type === "peer") {
      f.push(select(T.value_field, colOptions(mine), s.value_field, set("value_field")));
      f.push(select(T.group_by, colOptions(mine), s.group_by, set("group_by"), true, s.id + "-group"));
      f.push(select(T.stat, STAT_OPTIONS, s.stat || "median", set("stat")));
      f.push(input(T.factor, s.factor, set("factor", parseFloat), "number"));
    } else if (s.type === "emit") {
      f.push(select(T.group_by, colOptions(mine), s.group_by || [], set("group_by"), true, s.id + "-group"));
      f.push(select(T.subject_field, colOptions(mine), s.subject_field || "", set("subject_field"), false,
        "emit-subject"));
      f.push(select(T.amount_field, colOptions(mine), s.amount_field || "", set("amount_field")));
      f.push(input(T.title, s.title, set("title")));
      f.push(select(T.risk_level, data.risk_levels, s.risk_level || "", set("risk_level")));
    }
    return f;
  }

  function render() {
    var cols = columnMap();
    canvas.innerHTML = "";
    state.steps.forEach(function (s, i) {
      var before = state.steps.slice(0, i).map(function (x) { return x.id; });
      var broken = ["input", "left", "right"].some(function (k) {
        return s[k] && before.indexOf(s[k]) < 0;
      });
      var emitMisplaced = s.type === "emit" && i !== state.steps.length - 1;
      var card = el("li", { "class": "step-card" + (broken || emitMisplaced ? " invalid" : ""), "data-id": s.id,
        "data-testid": "step-" + s.id }, [
        el("header", {}, [
          el("strong", { text: T.step_n.replace("%(n)s", i + 1) + " · " + (data.steps[s.type] || "") }),
          el("span", {}, [
            // Previews run queries: only roles that build models get the button (the API agrees).
            data.can_preview ? el("button", { type: "button", text: T.preview, "data-testid": "preview-" + s.id,
              onclick: function () { runPreview(s.id); } }) : null,
            el("button", { type: "button", text: T.remove, onclick: function () {
              state.steps = state.steps.filter(function (x) { return x !== s; }); rewire(s.id); render();
            } }),
          ]),
        ]),
        broken ? el("p", { "class": "errors", "data-testid": "reorder-warning-" + s.id, text: T.reorder }) : null,
        emitMisplaced ? el("p", { "class": "errors", text: T.mark_emit_last }) : null,
        el("div", { "class": "fields" }, fieldsFor(s, cols)),
      ]);
      canvas.appendChild(card);
    });
  }

  // After a step is removed, an input that named it reads the step above instead. A reorder never
  // changes inputs: a step whose input now comes after it is marked, and moving it back restores it.
  function rewire(removed) {
    state.steps.forEach(function (s, i) {
      var before = state.steps.slice(0, i).map(function (x) { return x.id; });
      var prev = before.length ? before[before.length - 1] : "";
      ["input", "left", "right"].forEach(function (k) {
        if (k in s && s[k] === removed) s[k] = k === "right" ? "" : prev;
      });
    });
  }

  function spec() { return { steps: state.steps }; }

  function showError(msg) {
    preview.hidden = false;
    preview.innerHTML = "";
    preview.appendChild(el("p", { "class": "errors", text: msg }));
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
  }

  // A message "src: …" from the compiler names the step by its id: show its number and kind instead.
  function plain(msg) {
    var m = /^([A-Za-z0-9_-]{1,32}): ([\s\S]*)$/.exec(msg);
    if (m && state.steps.some(function (x) { return x.id === m[1]; })) return stepName(m[1]) + T.colon + m[2];
    return msg;
  }
  function flatten(errors) {
    if (typeof errors === "string") return plain(errors);
    if (Array.isArray(errors)) return errors.map(flatten).join(" ");
    return Object.keys(errors || {}).filter(function (k) { return k !== "step" && k !== "code"; })
      .map(function (k) { return flatten(errors[k]); }).join(" ");
  }

  function runPreview(stepId) {
    api("POST", "/api/v1/screening-specs/preview/", { spec: spec(), datasets: state.datasets, step: stepId, limit: 20 })
      .then(function (res) {
        // A preview over a limit says so in one sentence (`detail`); a bad spec names the step.
        if (!res.ok) { showError(res.body.detail || flatten(res.body.spec || res.body)); return; }
        preview.hidden = false;
        preview.innerHTML = "";
        var cols = res.body.columns, rows = res.body.rows;
        if (!rows.length) { preview.appendChild(el("p", { text: T.no_rows })); return; }
        var head = el("tr", {}, cols.map(function (c) { return el("th", { text: (data.columns || {})[c] || c }); }));
        var body = rows.map(function (r) {
          return el("tr", {}, cols.map(function (c) {
            var v = r[c]; return el("td", { text: v == null ? "" : (typeof v === "object" ? JSON.stringify(v) : v) });
          }));
        });
        preview.appendChild(el("p", { "class": "muted", text: T.preview + " · " + stepName(stepId) + " · " + rows.length }));
        preview.appendChild(el("table", { "class": "sc-table", "data-testid": "preview-table" },
          [el("thead", {}, [head]), el("tbody", {}, body)]));
      });
  }

  // ----- the save form -----
  var form = document.getElementById("save-form");
  function fill(name, options, value) {
    var sel = form.elements[name];
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (o[0] === value) opt.selected = true;
      sel.appendChild(opt);
    });
  }
  var m = start.model || {};
  fill("org_unit", data.units.map(function (u) { return [u.code, u.name]; }), m.org_unit);
  fill("domain", data.domains, m.domain || start.domain || "other");
  fill("risk_level", data.risk_levels, m.risk_level || "orange");
  form.elements.name.value = m.name || start.name || "";
  form.elements.supervision_points.value = m.supervision_points || "";
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var payload = { name: form.elements.name.value, org_unit: form.elements.org_unit.value,
      domain: form.elements.domain.value, risk_level: form.elements.risk_level.value,
      supervision_points: form.elements.supervision_points.value, spec: spec(), datasets: state.datasets };
    var req = m.id ? api("PATCH", "/api/v1/screening-models/" + m.id + "/", payload)
      : api("POST", "/api/v1/screening-models/", payload);
    var out = document.getElementById("save-result");
    req.then(function (res) {
      out.innerHTML = "";
      if (!res.ok) { out.className = "errors"; out.textContent = T.unsaved + flatten(res.body); return; }
      out.className = "";
      out.appendChild(el("a", { href: "/screening/models/" + res.body.id + "/", "data-testid": "saved-link",
        text: T.saved }));
    });
  });

  // ----- drag and drop -----
  Sortable.create(document.getElementById("palette"), {
    group: { name: "steps", pull: "clone", put: false }, sort: false, forceFallback: true,
  });
  Sortable.create(canvas, {
    group: { name: "steps", pull: false, put: true }, handle: "header", forceFallback: true, animation: 120,
    onAdd: function (evt) {
      var type = evt.item.getAttribute("data-type");
      evt.item.parentNode.removeChild(evt.item);
      var at = Math.min(evt.newIndex, state.steps.length);
      var prev = at > 0 ? state.steps[at - 1].id : "";
      var step = Object.assign({ id: newId(type), type: type }, defaults(type, prev));
      var next = state.steps[at];
      state.steps.splice(at, 0, step);
      if (next && next.input === prev && step.type !== "source") next.input = step.id;  // splice it into the chain
      render();
    },
    onUpdate: function (evt) {
      var moved = state.steps.splice(evt.oldIndex, 1)[0];
      state.steps.splice(evt.newIndex, 0, moved);
      render();
    },
  });
  render();
})();
