// The customer value dashboard's charts. Data: the #insight-data and #grid-map-data JSON
// elements; translated labels: the data- attributes of this script's own tag.
(function () {
  "use strict";
  var labels = document.currentScript.dataset;

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("insight-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    var save = {feature: {saveAsImage: {}}};
    var customers = labels.customers;
    var revenueShare = labels.revenueShare + " %";

    echarts.init(document.getElementById("tier-chart")).setOption({
      toolbox: save, tooltip: {trigger: "axis"},
      legend: {data: [customers, revenueShare]},
      yAxis: {type: "category", data: data.tiers.slice().reverse()},
      xAxis: [{type: "value"}, {type: "value", max: 100}],
      series: [
        {name: customers, type: "bar", data: data.customers.slice().reverse()},
        {name: revenueShare, type: "bar", xAxisIndex: 1, data: data.revenue_share.slice().reverse()}
      ]
    });
    if (data.risk_bands.length && document.getElementById("risk-chart")) {
      echarts.init(document.getElementById("risk-chart")).setOption({
        toolbox: save, tooltip: {trigger: "axis"},
        xAxis: {type: "category", data: data.risk_bands}, yAxis: {type: "value"},
        series: [{name: customers, type: "bar", data: data.risk_counts}]
      });
    }
    if (document.getElementById("clv-chart")) {
      echarts.init(document.getElementById("clv-chart")).setOption({
        toolbox: save, tooltip: {trigger: "axis"},
        xAxis: {type: "category", data: data.tiers}, yAxis: {type: "value", name: "¥"},
        series: [{name: labels.clv, type: "bar", data: data.clv}]
      });
    }
    if (data.lifecycle.length && document.getElementById("lifecycle-chart")) {
      echarts.init(document.getElementById("lifecycle-chart")).setOption({
        toolbox: save, tooltip: {trigger: "item"},
        series: [{type: "pie", radius: ["35%", "65%"],
                  data: data.lifecycle.map(function (d) { return {name: d[0], value: d[1]}; })}]
      });
    }
    if (data.funnel.length && document.getElementById("funnel-chart")) {
      echarts.init(document.getElementById("funnel-chart")).setOption({
        toolbox: save, tooltip: {trigger: "item"},
        series: [{type: "funnel", sort: "none", gap: 2, label: {position: "inside"},
                  data: data.funnel.map(function (d) { return {name: d[0], value: d[1]}; })}]
      });
    }
    var mapNode = document.getElementById("grid-map-data");
    if (mapNode) {
      var geo = JSON.parse(mapNode.textContent);
      echarts.registerMap("quanwang-grids", geo);
      var values = geo.features.map(function (f) {
        return {name: f.properties.name, value: f.properties.churn_risk_percent,
                label: f.properties.label, customers: f.properties.customers};
      });
      var risks = values.map(function (v) { return v.value || 0; });
      echarts.init(document.getElementById("risk-map")).setOption({
        toolbox: save,
        tooltip: {trigger: "item", formatter: function (p) {
          var d = p.data || {};
          var text = echarts.format.encodeHTML;  // grid names come from imported data
          return text(d.label || p.name) + "<br>"
            + text(labels.churnRisk) + ": " + (d.value == null ? "—" : text(d.value)) + "<br>"
            + text(customers) + ": " + text(d.customers || 0);
        }},
        visualMap: {min: Math.min.apply(null, risks), max: Math.max.apply(null, risks),
                    calculable: true, inRange: {color: ["#e0f3db", "#fdae61", "#d7191c"]},
                    left: "left", bottom: 10},
        series: [{type: "map", map: "quanwang-grids", roam: true, data: values,
                  emphasis: {label: {show: false}}}]
      });
    }
    echarts.init(document.getElementById("switching-chart")).setOption({
      toolbox: save, tooltip: {trigger: "axis"},
      xAxis: {type: "category", data: data.bands}, yAxis: {type: "value"},
      series: [{name: customers, type: "bar", data: data.band_counts}]
    });
  });
})();
