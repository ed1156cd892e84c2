// The segment builder (目标客户): conditions as rows in nested AND/OR/NOT groups, drawn from the
// field catalogue the page carries as JSON (#rule-fields, #builder-config, #initial-rule; no
// inline script: the Content-Security-Policy allows none). Every change writes the rule into
// the JSON box (#id_rule, the advanced view) and asks for the live preview ("rule-changed" on
// the body, which #preview listens for); a change typed into the JSON box redraws the builder.
// Yes/no values come from a 是/否 select as real booleans, never from typed text.
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key === "className") { node.className = attrs[key]; }
      else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }
  function option(value, text) { var o = el("option", {text: text}); o.value = value; return o; }
  function button(className, text, onClick) {
    var b = el("button", {type: "button", className: className, text: text});
    b.addEventListener("click", onClick);
    return b;
  }
  function cell(className, label, children) {
    return el("td", label ? {className: className, "data-label": label} : {className: className}, children);
  }
  // Shares are stored as 0-1 and shown in per cent: 0.07 shows as 7, not 7.000000000000001.
  function tidy(number) { return Number(number.toPrecision(12)); }

  document.addEventListener("DOMContentLoaded", function () {
    var host = document.getElementById("builder");
    var box = document.getElementById("id_rule");
    var fields = data("rule-fields");
    var config = data("builder-config");
    if (!host || !box || !fields || !config) { return; }
    var T = config.text;
    var readOnly = host.getAttribute("data-readonly") === "1";
    var note = document.getElementById("builder-note");
    var jsonError = document.getElementById("json-error");
    var preview = document.getElementById("preview");
    var byName = {};
    fields.forEach(function (f) { byName[f.name] = f; });
    var groupNames = {};
    config.groups.forEach(function (g) { groupNames[g[0]] = g[1]; });
    var root = null;
    var drawing = false;

    function say(node, text) { if (node) { node.textContent = text || ""; node.hidden = !text; } }

    // ---- Fields: a search box over the catalogue and a select grouped by 价值, 消费, …
    function matches(f, query) {
      if (!query) { return true; }
      var q = query.toLowerCase();
      return [f.label, f.name, groupNames[f.group] || ""].some(function (text) {
        return text.toLowerCase().indexOf(q) >= 0;
      });
    }
    function fillFields(select, query, current, sample) {
      select.innerHTML = "";
      select.appendChild(option("", T.choose));
      var kept = current ? (byName[current] || unknownField(current, sample)) : null;
      var shown = fields.filter(function (f) { return matches(f, query) || f.name === current; });
      if (kept && shown.indexOf(kept) < 0) { shown.push(kept); }
      config.groups.forEach(function (g) {
        var inGroup = shown.filter(function (f) { return f.group === g[0]; });
        if (!inGroup.length) { return; }
        var optgroup = el("optgroup", {label: g[1]});
        inGroup.forEach(function (f) { optgroup.appendChild(option(f.name, f.label + (f.unit ? "（" + f.unit + "）" : ""))); });
        select.appendChild(optgroup);
      });
      select.value = current || "";
      return shown.filter(function (f) { return f.name !== current; });
    }
    // A field the snapshot lacks (a rule saved before a column went): shown so that the JSON
    // stays as it is; the preview names the problem.
    function unknownField(name, sample) {
      if (!byName[name]) {
        var first = Array.isArray(sample) ? sample[0] : sample;
        var kind = typeof first === "boolean" ? "yes_no" : (typeof first === "number" ? "number" : "text");
        byName[name] = {name: name, label: T.unknown_field + "：" + name, group: "other", kind: kind,
          unit: "", scale: 1, ops: Object.keys(config.ops), choices: []};
      }
      return byName[name];
    }

    // ---- Values: inputs that fit the type
    // The words of yes and no the server reads as booleans (rules.normalise_rule), for a rule
    // typed into the JSON box; null for anything else.
    function asYesNo(value) {
      if (typeof value === "boolean") { return value; }
      if (typeof value !== "string" && typeof value !== "number") { return null; }
      var word = String(value).trim().toLowerCase();
      if (config.yes_words.indexOf(word) >= 0) { return true; }
      if (config.no_words.indexOf(word) >= 0) { return false; }
      return null;
    }
    function single(f, value, extra) {
      var input;
      if (f.kind === "number") {
        input = el("input", {type: "number", step: "any", inputmode: "decimal", className: "value-input " + extra, "aria-label": T.value});
        if (typeof value === "number") { input.value = String(tidy(value * f.scale)); }
      } else if (f.kind === "date") {
        input = el("input", {type: "date", className: "value-input " + extra, "aria-label": T.value});
        if (typeof value === "string") { input.value = value; }
      } else {
        input = el("input", {type: "text", className: "value-input " + extra, "aria-label": T.value});
        if (typeof value === "string") { input.value = value; }
      }
      if (!f.unit) { return input; }
      return el("span", {className: "with-unit"}, [input, el("span", {className: "unit", text: f.unit})]);
    }
    function valueWidget(f, op, value) {
      if (op === "is_null" || op === "not_null" || !op) { return el("span", {className: "muted no-value", text: "—"}); }
      if (f.kind === "yes_no") {
        var yesNo = el("select", {className: "value-bool", "aria-label": T.value});
        yesNo.appendChild(option("true", T.yes));
        yesNo.appendChild(option("false", T.no));
        yesNo.value = asYesNo(value) === false ? "false" : "true";
        return yesNo;
      }
      if (f.choices.length && (op === "in" || op === "not_in")) {
        var chosen = Array.isArray(value) ? value : (typeof value === "string" ? [value] : []);
        return el("div", {className: "value-codes", role: "group", "aria-label": T.value}, f.choices.map(function (c) {
          var tick = el("input", {type: "checkbox", value: c[0]});
          tick.checked = chosen.indexOf(c[0]) >= 0;
          return el("label", {className: "check"}, [tick, c[1]]);
        }));
      }
      if (f.choices.length) {
        var pick = el("select", {className: "value-code", "aria-label": T.value});
        pick.appendChild(option("", T.choose));
        f.choices.forEach(function (c) { pick.appendChild(option(c[0], c[1])); });
        pick.value = typeof value === "string" ? value : (Array.isArray(value) && value.length === 1 ? value[0] : "");
        return pick;
      }
      if (op === "between") {
        var ends = Array.isArray(value) ? value : [value];
        return el("span", {className: "between"}, [single(f, ends[0], "low"), el("span", {text: T.to}), single(f, ends[1], "high")]);
      }
      if (op === "in" || op === "not_in") {
        var several = el("input", {type: "text", className: "value-input several", placeholder: T.several, "aria-label": T.value});
        several.value = Array.isArray(value) ? value.join("，") : (typeof value === "string" ? value : "");
        return several;
      }
      return single(f, Array.isArray(value) ? value[0] : value, "one");
    }
    function readSingle(f, input) {
      var raw = input.value.trim();
      if (raw === "") { return null; }
      if (f.kind !== "number") { return raw; }
      var number = Number(raw);
      if (!isFinite(number)) { return raw; }
      return f.scale !== 1 ? tidy(number / f.scale) : number;
    }
    function readValue(row, f, op) {
      var valueCell = row.querySelector(".cell-value");
      if (op === "is_null" || op === "not_null") { return undefined; }
      var yesNo = valueCell.querySelector(".value-bool");
      if (yesNo) { return yesNo.value === "true"; }
      var codes = valueCell.querySelector(".value-codes");
      if (codes) {
        return Array.prototype.filter.call(codes.querySelectorAll("input"), function (t) { return t.checked; })
          .map(function (t) { return t.value; });
      }
      var pick = valueCell.querySelector(".value-code");
      if (pick) { return pick.value || null; }
      if (op === "between") { return [readSingle(f, valueCell.querySelector(".low")), readSingle(f, valueCell.querySelector(".high"))]; }
      var several = valueCell.querySelector(".several");
      if (several) { return several.value.split(/[,，、;；\s]+/).filter(Boolean); }
      var one = valueCell.querySelector(".one");
      return one ? readSingle(f, one) : null;
    }

    // ---- Rows and groups
    function header() {
      return el("thead", {}, [el("tr", {}, [
        el("th", {text: T.not}), el("th", {text: T.field}), el("th", {text: T.operator}),
        el("th", {text: T.value}), el("th", {})
      ])]);
    }
    function rowsOf(group) { return group.querySelector(":scope > table > tbody"); }
    function subgroupsOf(group) { return group.querySelector(":scope > .subgroups"); }
    function negateBox(checked) {
      var tick = el("input", {type: "checkbox", className: "negate", "aria-label": T.not});
      tick.checked = !!checked;
      return el("label", {className: "check"}, [tick, el("span", {className: "narrow-only", text: T.not})]);
    }

    function addCondition(group, node, negate) {
      var row = el("tr", {className: "condition"});
      var search = el("input", {type: "search", className: "field-search", placeholder: T.search, "aria-label": T.search});
      var fieldBox = el("select", {className: "field", "aria-label": T.field});
      var opBox = el("select", {className: "op", "aria-label": T.operator});
      var valueCell = cell("cell-value", T.value);
      var current = node && typeof node.field === "string" ? node.field : "";
      fillFields(fieldBox, "", current, node ? node.value : undefined);
      row.appendChild(cell("cell-not", T.not, [negateBox(negate)]));
      row.appendChild(cell("cell-field", T.field, [search, fieldBox]));
      row.appendChild(cell("cell-op", T.operator, [opBox]));
      row.appendChild(valueCell);
      row.appendChild(cell("cell-remove", "", [button("remove link", T.remove, function () { row.remove(); changed(); })]));

      var shownOp = "";
      function field() { return byName[fieldBox.value]; }
      // `foreign`: keep an operator the field does not take (a rule opened from JSON keeps
      // what it says, and the preview names the problem).
      function refreshOps(wanted, foreign) {
        var f = field();
        opBox.innerHTML = "";
        if (!f) { opBox.disabled = true; return; }
        opBox.disabled = false;
        var ops = f.ops.slice();
        if (foreign && wanted && ops.indexOf(wanted) < 0) { ops.push(wanted); }
        ops.forEach(function (op) { opBox.appendChild(option(op, config.ops[op] || op)); });
        opBox.value = ops.indexOf(wanted) >= 0 ? wanted : ops[0];
      }
      function refreshValue(value) {
        valueCell.innerHTML = "";
        var f = field();
        valueCell.appendChild(f ? valueWidget(f, opBox.value, value) : el("span", {className: "muted no-value", text: "—"}));
        shownOp = opBox.value;
      }
      function choose(name) {
        fieldBox.value = name;
        refreshOps(opBox.value, false);
        refreshValue(undefined);
      }
      fieldBox.addEventListener("change", function () { search.value = ""; search.classList.remove("no-match"); choose(fieldBox.value); });
      opBox.addEventListener("change", function () {
        // Keep what was typed where it still fits (a number from 大于 to 小于).
        var f = field();
        refreshValue(f ? readValue(row, f, shownOp) : undefined);
      });
      search.addEventListener("input", function () {
        var query = search.value.trim();
        var f = field();
        var others = fillFields(fieldBox, query, fieldBox.value);
        var currentFits = !!f && matches(f, query);
        search.classList.toggle("no-match", query !== "" && !currentFits && others.length === 0);
        search.title = search.classList.contains("no-match") ? T.no_match : "";
        if (query && !currentFits && others.length) {
          choose(others[0].name);
          changed();
        }
      });
      refreshOps(node ? node.op : "", true);
      refreshValue(node ? node.value : undefined);
      rowsOf(group).appendChild(row);
      return row;
    }

    function addListRow(group, listId, negate) {
      var row = el("tr", {className: "list-condition"});
      var pick = el("select", {className: "list-choice", "aria-label": T.list});
      config.lists.forEach(function (l) { pick.appendChild(option(String(l[0]), l[1])); });
      if (!config.lists.some(function (l) { return l[0] === listId; })) { pick.appendChild(option(String(listId), "#" + listId)); }
      pick.value = String(listId);
      row.appendChild(cell("cell-not", T.not, [negateBox(negate)]));
      row.appendChild(cell("cell-field", T.field, [el("span", {text: T.list})]));
      row.appendChild(cell("cell-op", T.operator, [el("span", {text: T.in_list})]));
      row.appendChild(cell("cell-value", T.value, [pick]));
      row.appendChild(cell("cell-remove", "", [button("remove link", T.remove, function () { row.remove(); changed(); })]));
      rowsOf(group).appendChild(row);
      return row;
    }

    function makeGroup(kind, negate, isRoot) {
      var group = el("div", {className: "rule-group" + (isRoot ? " root" : ""), role: "group"});
      if (isRoot) { group.id = "conditions"; }
      var kindBox = el("select", {className: "group-kind", "aria-label": T.all + " / " + T.any});
      kindBox.appendChild(option("all", T.all));
      kindBox.appendChild(option("any", T.any));
      kindBox.value = kind === "any" ? "any" : "all";
      var notTick = el("input", {type: "checkbox", className: "group-not"});
      notTick.checked = !!negate;
      var head = el("div", {className: "group-head"}, [kindBox, el("label", {className: "check"}, [notTick, T.negate_group])]);
      if (!isRoot) { head.appendChild(button("remove-group link", T.remove_group, function () { group.remove(); changed(); })); }
      var table = el("table", {className: "conditions"}, [header(), el("tbody", {})]);
      var actions = el("div", {className: "group-actions"});
      var addOne = button("add-condition secondary", T.add_condition, function () { addCondition(group); changed(); });
      if (isRoot) { addOne.id = "add-condition"; }
      actions.appendChild(addOne);
      var addGroup = button("add-group secondary", T.add_group, function () {
        var inner = makeGroup("any", false, false);
        subgroupsOf(group).appendChild(inner);
        addCondition(inner);
        changed();
      });
      if (isRoot) { addGroup.id = "add-group"; }
      actions.appendChild(addGroup);
      if (config.lists.length) {
        actions.appendChild(button("add-list secondary", T.add_list, function () { addListRow(group, config.lists[0][0]); changed(); }));
      }
      group.appendChild(head);
      group.appendChild(table);
      group.appendChild(el("div", {className: "subgroups"}));
      group.appendChild(actions);
      return group;
    }

    // ---- The rule out of the builder
    function ruleOf(group) {
      var parts = [];
      Array.prototype.forEach.call(rowsOf(group).children, function (row) {
        var negate = row.querySelector(".negate").checked;
        var node;
        if (row.classList.contains("list-condition")) {
          node = {list: Number(row.querySelector(".list-choice").value)};
        } else {
          var f = byName[row.querySelector(".field").value];
          if (!f) { return; }  // a row whose field is not chosen yet
          var op = row.querySelector(".op").value;
          node = {field: f.name, op: op};
          var value = readValue(row, f, op);
          if (value !== undefined) { node.value = value; }
        }
        parts.push(negate ? {not: node} : node);
      });
      Array.prototype.forEach.call(subgroupsOf(group).children, function (inner) { parts.push(ruleOf(inner)); });
      var rule = {};
      rule[group.querySelector(":scope > .group-head .group-kind").value] = parts;
      return group.querySelector(":scope > .group-head .group-not").checked ? {not: rule} : rule;
    }
    function isEmpty(rule) {
      var inner = rule.not || rule;
      return (inner.all || inner.any || []).length === 0;
    }
    function askPreview(empty) {
      if (!preview) { return; }
      if (empty) { preview.innerHTML = ""; preview.appendChild(el("p", {className: "muted", text: T.empty})); return; }
      document.body.dispatchEvent(new Event("rule-changed"));
    }
    function changed() {
      if (drawing || readOnly) { return; }
      var rule = ruleOf(root);
      var empty = isEmpty(rule);
      box.value = empty ? "" : JSON.stringify(rule, null, 1);
      say(jsonError, "");
      say(note, "");
      askPreview(empty);
    }

    // ---- The builder out of a rule (the JSON box, or the rule the page opened with)
    function unwrap(node) {
      var negate = false;
      while (isObject(node) && Object.keys(node).length === 1 && "not" in node) { negate = !negate; node = node.not; }
      return {node: node, negate: negate};
    }
    function groupKind(node) {
      if (!isObject(node)) { return null; }
      if (Array.isArray(node.all)) { return "all"; }
      if (Array.isArray(node.any)) { return "any"; }
      return null;
    }
    function fill(group, children) {
      children.forEach(function (child) {
        var u = unwrap(child);
        var kind = groupKind(u.node);
        if (kind) {
          var inner = makeGroup(kind, u.negate, false);
          subgroupsOf(group).appendChild(inner);
          fill(inner, u.node[kind]);
        } else if (isObject(u.node) && typeof u.node.list === "number") {
          addListRow(group, u.node.list, u.negate);
        } else if (isObject(u.node) && typeof u.node.field === "string") {
          addCondition(group, u.node, u.negate);
        } else {
          throw new Error("shape");
        }
      });
    }
    function draw(rule) {
      var drawn;
      drawing = true;
      try {
        if (rule === null) {
          drawn = makeGroup("all", false, true);
        } else {
          var u = unwrap(rule);
          var kind = groupKind(u.node);
          if (kind) {
            drawn = makeGroup(kind, u.negate, true);
            fill(drawn, u.node[kind]);
          } else {
            drawn = makeGroup("all", false, true);
            fill(drawn, [rule]);
          }
        }
      } catch (e) {
        return false;
      } finally {
        drawing = false;
      }
      if (root) { root.replaceWith(drawn); } else { host.appendChild(drawn); }
      root = drawn;
      if (readOnly) {
        root.querySelectorAll("input, select, button").forEach(function (c) { c.disabled = true; });
      }
      return true;
    }
    function load(text, typed) {
      if (text.trim() === "") { draw(null); say(jsonError, ""); say(note, ""); askPreview(true); return; }
      var rule;
      try { rule = JSON.parse(text); } catch (e) { say(jsonError, T.bad_json); return; }
      say(jsonError, "");
      if (draw(rule)) { say(note, ""); } else { say(note, T.not_shown); }
      if (!typed && !readOnly && isObject(rule) && note.hidden) { box.value = JSON.stringify(ruleOf(root), null, 1); }
      askPreview(false);
    }

    host.addEventListener("change", function (event) {
      if (!event.target.classList.contains("field-search")) { changed(); }
    });
    host.addEventListener("input", function (event) {
      if (event.target.matches(".value-input")) { changed(); }
    });
    var typing = null;
    box.addEventListener("input", function () {
      clearTimeout(typing);
      typing = setTimeout(function () { load(box.value, true); }, 400);
    });
    var form = box.form;
    if (form) {
      // One save per click: the server answers a repeated save with the same version too.
      form.addEventListener("submit", function () {
        var send = form.querySelector("button[type=submit]");
        if (send) { setTimeout(function () { send.disabled = true; }, 0); }
      });
    }

    var initial = data("initial-rule") || "";
    box.value = initial;
    draw(null);
    // After htmx has set up #preview (its DOMContentLoaded handler ran before this one).
    setTimeout(function () {
      if (initial.trim()) {
        load(initial, false);
        if (!jsonError.hidden || !note.hidden) { document.getElementById("rule-json").open = true; }
      }
    }, 0);
  });
})();
