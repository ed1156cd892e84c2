// The grid map: the grids' outlines registered as an ECharts map (no tile server), coloured
// by the KPI chosen. Drill-down: the whole scope → a county's grids → a grid's figures and
// links to its scorecard, customers and stores. Data: #map-setup (URLs, labels), the outlines
// (grids.json: integer steps of 1/scale degree, see channels.geo.mapdata) and the values.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var setupNode = document.getElementById("map-setup");
  var chartNode = document.getElementById("grid-map");
  if (!setupNode || !chartNode || typeof echarts === "undefined") { return; }
  var setup = JSON.parse(setupNode.textContent);
  var text = setup.text;
  var kpiSelect = document.getElementById("map-kpi");
  var monthInput = document.getElementById("map-month");
  var countySelect = document.getElementById("map-county");
  var crumbs = document.getElementById("map-crumbs");
  var panel = document.getElementById("grid-panel");
  var note = document.getElementById("map-note");
  var chart = echarts.init(chartNode);
  var grids = {};
  var byCounty = {};
  var registered = {};
  var values = {};
  var available = true;
  var state = {county: new URLSearchParams(window.location.search).get("county") || "", grid: ""};
  var readyMarked = false;

  function escaped(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function formatted(value) {
    if (value === null || value === undefined || isNaN(value)) { return text.no_value; }
    return Number(value).toLocaleString(document.documentElement.lang || undefined,
                                        {maximumFractionDigits: 2});
  }

  function decode(data) {
    var scale = data.scale;
    data.grids.forEach(function (row) {
      var polygons = row[4].map(function (rings) {
        return rings.map(function (flat) {
          var ring = [], x = 0, y = 0;
          for (var i = 0; i < flat.length; i += 2) {
            x += flat[i]; y += flat[i + 1];
            ring.push([x / scale, y / scale]);
          }
          return ring;
        });
      });
      grids[row[0]] = {id: row[0], name: row[1], county: row[2],
                       geometry: {type: "MultiPolygon", coordinates: polygons}};
      (byCounty[row[2]] = byCounty[row[2]] || []).push(row[0]);
    });
  }

  function shown() { return state.county ? (byCounty[state.county] || []) : Object.keys(grids); }

  function mapName() {
    var name = "qw-grids-" + (state.county || "all");
    if (!registered[name]) {
      echarts.registerMap(name, {type: "FeatureCollection", features: shown().map(function (id) {
        return {type: "Feature", properties: {name: id}, geometry: grids[id].geometry};
      })});
      registered[name] = true;
    }
    return name;
  }

  function kpiLabel() { return kpiSelect.options[kpiSelect.selectedIndex].text; }

  function render() {
    var data = shown().map(function (id) {
      return {name: id, value: values[id] === undefined ? NaN : values[id]};
    });
    var known = data.map(function (d) { return d.value; }).filter(function (v) { return !isNaN(v); });
    var low = known.length ? Math.min.apply(null, known) : 0;
    var high = known.length ? Math.max.apply(null, known) : 1;
    chart.setOption({
      animation: false,
      tooltip: {trigger: "item", formatter: function (p) {
        var grid = grids[p.name];
        if (!grid) { return ""; }
        return escaped(grid.name) + "<br>" + escaped(setup.counties[grid.county] || grid.county) +
          "<br>" + escaped(kpiLabel()) + ": " + escaped(formatted(p.value));
      }},
      visualMap: {show: known.length > 0, min: low, max: high > low ? high : low + 1,
                  calculable: true, orient: "horizontal", left: "center", bottom: 0,
                  itemWidth: 12, itemHeight: 120,
                  inRange: {color: ["#fde0dd", "#fa9fb5", "#c51b8a"]}},
      series: [{type: "map", map: mapName(), roam: true, selectedMode: "single",
                label: {show: false}, emphasis: {label: {show: false},
                itemStyle: {areaColor: "#f4b400"}}, select: {label: {show: false},
                itemStyle: {areaColor: "#0b5cad"}},
                itemStyle: {areaColor: "#dde3ea", borderColor: "#ffffff",
                            borderWidth: state.county ? 1 : 0.3},
                data: data}]
    }, true);
    if (state.grid) { chart.dispatchAction({type: "select", name: state.grid}); }
    drawCrumbs();
  }

  function link(label, onClick) {
    var a = document.createElement("a");
    a.href = "#"; a.textContent = label;
    a.addEventListener("click", function (event) { event.preventDefault(); onClick(); });
    return a;
  }

  function drawCrumbs() {
    crumbs.textContent = "";
    crumbs.appendChild(link(text.all, function () { choose("", ""); }));
    if (state.county) {
      crumbs.appendChild(document.createTextNode(" › "));
      crumbs.appendChild(link(setup.counties[state.county] || state.county,
                              function () { choose(state.county, ""); }));
    }
    if (state.grid && grids[state.grid]) {
      crumbs.appendChild(document.createTextNode(" › " + grids[state.grid].name));
    }
  }

  function showPanel() {
    var grid = grids[state.grid];
    panel.textContent = "";
    panel.hidden = !grid;
    if (!grid) { return; }
    var title = document.createElement("h2");
    title.textContent = grid.name;
    var code = document.createElement("p");
    code.className = "muted"; code.textContent = grid.id;
    var figure = document.createElement("p");
    figure.textContent = kpiLabel() + ": " + formatted(values[grid.id]);
    var list = document.createElement("ul");
    var targets = [];
    if (setup.scorecard) { targets.push([text.scorecard, setup.scorecard]); }
    setup.kinds.forEach(function (kind) {
      targets.push([kind[1], setup.points.replace("KIND", kind[0])]);
    });
    targets.forEach(function (target) {
      var item = document.createElement("li");
      var a = document.createElement("a");
      a.href = target[1].replace(setup.placeholder, encodeURIComponent(grid.id));
      a.textContent = target[0];
      item.appendChild(a);
      list.appendChild(item);
    });
    panel.append(title, code, figure, list);
  }

  function remember() {
    var params = new URLSearchParams(window.location.search);
    params.set("kpi", kpiSelect.value); params.set("month", monthInput.value);
    if (state.county) { params.set("county", state.county); } else { params.delete("county"); }
    window.history.replaceState(null, "", "?" + params.toString());
  }

  function choose(county, grid) {
    state.county = county; state.grid = grid;
    countySelect.value = county;
    render(); showPanel(); remember();
  }

  function loadValues() {
    var query = "?kpi=" + encodeURIComponent(kpiSelect.value) +
                "&month=" + encodeURIComponent(monthInput.value);
    return fetch(setup.values + query, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {available: false, values: {}}; })
      .then(function (data) {
        values = data.values || {};
        available = data.available;
        note.textContent = available ? "" : text.unavailable;
      });
  }

  chart.on("click", function (p) {
    var grid = grids[p.name];
    if (!grid) { return; }
    if (!state.county) { choose(grid.county, ""); } else { choose(state.county, grid.id); }
  });
  chart.on("finished", function () {
    if (readyMarked || !Object.keys(grids).length) { return; }
    readyMarked = true;
    window.qwMapReady = performance.now();  // read by bench/bench_map_page.py
    chartNode.setAttribute("data-ready", "1");
  });
  kpiSelect.addEventListener("change", function () { loadValues().then(function () { render(); showPanel(); remember(); }); });
  monthInput.addEventListener("change", function () { loadValues().then(function () { render(); showPanel(); remember(); }); });
  countySelect.addEventListener("change", function () { choose(countySelect.value, ""); });
  window.addEventListener("resize", function () { chart.resize(); });

  // The <head> preloads the outlines, so this fetch finds them on their way.
  var outlines = fetch(setup.shapes, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  Promise.all([outlines, loadValues()]).then(function (done) {
    decode(done[0]);
    if (!Object.keys(grids).length) { note.textContent = text.empty; return; }
    if (state.county && !byCounty[state.county]) { state.county = ""; }
    countySelect.value = state.county;
    render();
  });
});
