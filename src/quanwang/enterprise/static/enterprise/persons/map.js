// The relationship map of an account: an ECharts force graph from the JSON the page carries.
// Phones get the table (the chart is hidden under 600 px by the page's style).
(function () {
  function draw(holder) {
    var data = document.getElementById(holder.id + "-data");
    if (!data || !window.echarts) return;
    var graph = JSON.parse(data.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      tooltip: { formatter: function (p) { return p.data.name + (p.data.value ? "<br>" + p.data.value : ""); } },
      series: [{
        type: "graph", layout: "force", roam: true, draggable: true,
        force: { repulsion: 220, edgeLength: 110 },
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
        label: { show: true, position: "bottom" },
        data: graph.nodes, links: graph.links
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".person-graph[data-chart]").forEach(draw);
  });
})();
