// The segment builder: rows of conditions written into the rule's JSON box, and the live
// preview asked for on each change (the #preview element listens for "rule-changed").
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("rule-fields");
  var ruleBox = document.getElementById("id_rule");
  if (!node || !ruleBox) { return; }
  var fields = JSON.parse(node.textContent);
  var byName = {};
  fields.forEach(function (f) { byName[f.name] = f; });
  var body = document.querySelector("#conditions tbody");
  var combinator = document.getElementById("combinator");
  var lists = [];

  function option(value, text) { var o = document.createElement("option"); o.value = value; o.textContent = text; return o; }
  function valueOf(row) {
    var f = byName[row.querySelector(".field").value], op = row.querySelector(".op").value;
    var raw = row.querySelector(".value").value.trim();
    if (op === "is_null" || op === "not_null") { return undefined; }
    if (f.kind === "yes_no") { return raw !== "false"; }
    if (op === "in" || op === "not_in") { return raw.split(/[,，\s]+/).filter(Boolean); }
    if (op === "between") { return raw.split(/[,，\s]+/).filter(Boolean).map(Number); }
    return f.kind === "number" ? Number(raw) : raw;
  }
  function write() {
    var parts = [];
    body.querySelectorAll("tr").forEach(function (row) {
      var c = {field: row.querySelector(".field").value, op: row.querySelector(".op").value};
      var v = valueOf(row); if (v !== undefined) { c.value = v; }
      parts.push(row.querySelector(".negate").checked ? {not: c} : c);
    });
    lists.forEach(function (id) { parts.push({list: id}); });
    if (!parts.length) { return; }
    var rule = {}; rule[combinator.value] = parts;
    ruleBox.value = JSON.stringify(rule, null, 1);
    document.body.dispatchEvent(new Event("rule-changed"));
  }
  function addRow() {
    var row = document.createElement("tr");
    row.innerHTML = '<td><input type="checkbox" class="negate"></td><td><select class="field"></select></td><td><select class="op"></select></td><td><input class="value"></td><td><button type="button" class="remove">×</button></td>';
    var fieldBox = row.querySelector(".field");
    fields.forEach(function (f) { fieldBox.appendChild(option(f.name, f.label)); });
    function refreshOps() {
      var f = byName[fieldBox.value], opBox = row.querySelector(".op");
      opBox.innerHTML = ""; f.ops.forEach(function (op) { opBox.appendChild(option(op, op)); });
      var valueBox = row.querySelector(".value");
      valueBox.placeholder = f.kind === "yes_no" ? "true / false" : (f.codes.length ? f.codes.join(", ") : "");
      if (f.kind === "yes_no") { valueBox.value = "true"; }
    }
    fieldBox.addEventListener("change", function () { refreshOps(); write(); });
    row.addEventListener("change", write);
    row.querySelector(".value").addEventListener("keyup", write);
    row.querySelector(".remove").addEventListener("click", function () { row.remove(); write(); });
    body.appendChild(row); refreshOps(); write();
  }
  document.getElementById("add-condition").addEventListener("click", addRow);
  combinator.addEventListener("change", write);
  var addList = document.getElementById("add-list");
  if (addList) { addList.addEventListener("click", function () {
    var id = Number(document.getElementById("list-choice").value); if (id) { lists.push(id); write(); } }); }
  ruleBox.addEventListener("keyup", function () { document.body.dispatchEvent(new Event("rule-changed")); });
});
