// The omni-channel funnel's charts (channels/funnel/_funnel_card.html): for each element with
// data-funnel-chart="funnel" or "waterfall", the data is the JSON script named by data-source.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var RISE = "#1a7f37", FALL = "#c8102e", TOTAL = "#0b5cad";

  function money(value) {
    return value.toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function funnel(data) {
    var sides = [data.funnel.walk_in, data.funnel.referral];
    return {
      tooltip: {trigger: "item", formatter: "{a}<br/>{b}: {c}"},
      title: sides.map(function (side, i) {
        return {text: side.title, left: i === 0 ? "25%" : "75%", top: 0, textAlign: "center",
                textStyle: {fontSize: 13}};
      }),
      series: sides.map(function (side, i) {
        return {
          type: "funnel", name: side.title, left: i === 0 ? "2%" : "52%", width: "46%",
          top: 28, bottom: 8, sort: "none", minSize: "12%", gap: 2,
          label: {position: "inside", formatter: "{b}\n{c}", fontSize: 11},
          data: side.stages.map(function (s) { return {name: s[0], value: s[1]}; })
        };
      })
    };
  }

  function waterfall(data) {
    var w = data.waterfall, names = [w.start[0]], base = [0], up = [w.start[1]], down = [0];
    var colours = [TOTAL], running = w.start[1];
    w.steps.forEach(function (step) {
      var v = step[1];
      names.push(step[0]);
      base.push(v >= 0 ? running : running + v);
      up.push(v >= 0 ? v : 0);
      down.push(v < 0 ? -v : 0);
      colours.push(v >= 0 ? RISE : FALL);
      running += v;
    });
    names.push(w.end[0]); base.push(0); up.push(w.end[1]); down.push(0); colours.push(TOTAL);
    return {
      grid: {left: 16, right: 8, top: 16, bottom: 8, containLabel: true},
      tooltip: {
        trigger: "axis", axisPointer: {type: "shadow"},
        formatter: function (items) {
          var i = items[0].dataIndex, v = up[i] || -down[i];
          var first = i === 0 || i === names.length - 1;
          return names[i] + ": " + (first || v < 0 ? "" : "+") + money(v) + " " + data.currency;
        }
      },
      xAxis: {type: "category", data: names, axisLabel: {interval: 0, fontSize: 11, rotate: 30}},
      yAxis: {type: "value", axisLabel: {fontSize: 10}},
      series: [
        {type: "bar", stack: "all", silent: true, itemStyle: {color: "transparent"}, data: base},
        {type: "bar", stack: "all", name: w.rise,
         data: up.map(function (v, i) { return {value: v, itemStyle: {color: colours[i]}}; })},
        {type: "bar", stack: "all", name: w.fall, itemStyle: {color: FALL}, data: down}
      ]
    };
  }

  document.querySelectorAll("[data-funnel-chart]").forEach(function (node) {
    var source = document.getElementById(node.getAttribute("data-source"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var kind = node.getAttribute("data-funnel-chart");
    if (kind === "waterfall" && !data.waterfall) { return; }
    var chart = echarts.init(node);
    chart.setOption(kind === "waterfall" ? waterfall(data) : funnel(data));
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
