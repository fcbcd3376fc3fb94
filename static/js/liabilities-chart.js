// The budget and liability chart (subsidies/liabilities.html): per year, the paid amounts by
// funding source and what is due and not yet paid, stacked, with the budget as a line — from
// the page's JSON block (CSP: no inline scripts; ECharts is served locally). The table below
// carries the same numbers for readers without the chart. Amounts arrive as strings of yuan.
(function () {
  "use strict";

  function draw() {
    var el = document.getElementById("liabilities-chart");
    var src = document.getElementById("liabilities-data");
    if (!el || !src || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    if (!data.years.length) { el.hidden = true; return; }
    el.style.height = "320px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var font = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif';
    var num = function (list) { return list.map(function (v) { return Number(v); }); };
    var yuan = function (v) {
      return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    };
    var wan = function (v) { return v === 0 ? "0" : (v / 10000).toLocaleString("zh-CN") + "万"; };
    var bar = function (key, color) {
      return { name: data.labels[key], type: "bar", stack: "money", barMaxWidth: 40,
               itemStyle: { color: color }, data: num(data.series[key]) };
    };
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var i = items[0].dataIndex;
          var lines = [data.years[i] + "年"];
          ["paid_higher", "paid_county", "committed", "budget_total"].forEach(function (key) {
            lines.push(data.labels[key] + "：" + yuan(data.series[key][i]) + " 元");
          });
          return lines.join("<br>");
        }
      },
      xAxis: { type: "category", data: data.years },
      yAxis: { type: "value", axisLabel: { formatter: wan } },
      series: [
        bar("paid_higher", "#0d6efd"),
        bar("paid_county", "#198754"),
        bar("committed", "#fd7e14"),
        { name: data.labels.budget_total, type: "line", step: "middle", symbol: "circle",
          itemStyle: { color: "#6c757d" }, data: num(data.series.budget_total) }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
