#include "host/cli/HtmlReport.h"

#include "host/cli/Inspect.h"
#include "host/cli/Json.h"
#include "host/cli/Report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sg::cli {

namespace {

constexpr const char* kDefaultD3 = "/usr/share/javascript/d3/d3.min.js";
/// Points per plotted series at most: longer series are reduced (max, min or mean per group).
constexpr std::size_t kMaxPoints = 4000;

enum class Reduce { Max, Min, Mean };

/// `values` reduced to at most kMaxPoints; `step` is multiplied by the group size.
Json reduced(const std::vector<float>& values, Reduce how, double& step) {
    const std::size_t group = std::max<std::size_t>(1, (values.size() + kMaxPoints - 1) / kMaxPoints);
    step *= double(group);
    Json out = Json::array();
    for (std::size_t start = 0; start < values.size(); start += group) {
        const std::size_t end = std::min(values.size(), start + group);
        double v = how == Reduce::Mean ? 0 : values[start];
        int finite = 0;
        for (std::size_t i = start; i < end; ++i) {
            const double x = values[i];
            if (how == Reduce::Max) v = std::max(v, x);
            if (how == Reduce::Min) v = std::min(v, x);
            if (how == Reduce::Mean && std::isfinite(x)) v += x, ++finite;
        }
        if (how == Reduce::Mean) v = finite > 0 ? v / finite : -HUGE_VAL;
        out.push_back(jsonFixed(v, 4));
    }
    return out;
}

Json pairs(const std::vector<std::pair<std::string, std::string>>& items) {
    Json out = Json::array();
    for (const auto& [label, value] : items) out.push_back(Json::array({label, value}));
    return out;
}

/// The inline SVG of Graphviz without its XML prologue and DOCTYPE.
std::string inlineSvg(const std::string& svg) {
    const auto start = svg.find("<svg");
    return start == std::string::npos ? std::string() : svg.substr(start);
}

/// Text safe inside an HTML element.
std::string escapeHtml(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

/// Text safe inside <script>: no "</" that could close it.
std::string scriptSafe(std::string text) {
    for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.replace(at, 2, "<\\/");
    return text;
}

// The page's own drawing code (d3 version 3 API). Every plot is an <svg class="plot"> with
// its marks classed by what they show, so a browser test can count them against the data.
constexpr const char* kPageScript = R"JS(
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var W = 520, H = 220, M = {top: 24, right: 16, bottom: 34, left: 52};
  function frame(parent, title, yLabel) {
    var box = parent.append('div').attr('class', 'plotbox');
    box.append('div').attr('class', 'plottitle').text(title);
    var svg = box.append('svg').attr('class', 'plot').attr('width', W).attr('height', H);
    var g = svg.append('g').attr('transform', 'translate(' + M.left + ',' + M.top + ')');
    g.append('text').attr('class', 'ylabel').attr('x', -M.left + 4).attr('y', -8).text(yLabel);
    return g;
  }
  function axes(g, x, y, w, h) {
    g.append('g').attr('class', 'axis').attr('transform', 'translate(0,' + h + ')').call(d3.svg.axis().scale(x).orient('bottom').ticks(6));
    g.append('g').attr('class', 'axis').call(d3.svg.axis().scale(y).orient('left').ticks(5));
  }
  function finite(v) { return v !== null && isFinite(v); }
  var colours = d3.scale.category10();
  var w = W - M.left - M.right, h = H - M.top - M.bottom;

  function bands(parent, title, sets) {
    var g = frame(parent, title, 'dB re whole');
    var all = [];
    sets.forEach(function (s) { s.values.forEach(function (v) { if (finite(v)) all.push(v); }); });
    var low = Math.min(-40, d3.min(all) || -40);
    var x0 = d3.scale.ordinal().domain(data.band_labels).rangeBands([0, w], 0.2);
    var x1 = d3.scale.ordinal().domain(d3.range(sets.length)).rangeBands([0, x0.rangeBand()]);
    var y = d3.scale.linear().domain([low, 0]).range([h, 0]);
    axes(g, x0, y, w, h);
    sets.forEach(function (s, k) {
      g.selectAll('rect.bar.set' + k).data(s.values).enter().append('rect')
        .attr('class', 'bar set' + k)
        .attr('x', function (d, i) { return x0(data.band_labels[i]) + x1(k); })
        .attr('width', x1.rangeBand())
        .attr('y', function (d) { return finite(d) ? y(Math.max(d, low)) : h; })
        .attr('height', function (d) { return finite(d) ? h - y(Math.max(d, low)) : 0; })
        .style('fill', colours(k));
    });
    legend(g, sets.map(function (s) { return s.name; }));
  }
  function lines(parent, title, yLabel, sets, floor) {
    var g = frame(parent, title, yLabel);
    var end = 0, top = -Infinity, bottom = Infinity;
    sets.forEach(function (s) {
      end = Math.max(end, s.values.length * s.step);
      s.values.forEach(function (v) { if (finite(v) && v > floor) { top = Math.max(top, v); bottom = Math.min(bottom, v); } });
    });
    if (!isFinite(top)) { top = 0; bottom = -1; }
    if (top - bottom < 1) { top += 0.5; bottom -= 0.5; }
    var x = d3.scale.linear().domain([0, Math.max(end, 0.1)]).range([0, w]);
    var y = d3.scale.linear().domain([bottom, top]).nice().range([h, 0]);
    axes(g, x, y, w, h);
    g.append('text').attr('class', 'xlabel').attr('x', w).attr('y', h + 30).attr('text-anchor', 'end').text('seconds');
    sets.forEach(function (s, k) {
      var line = d3.svg.line()
        .defined(function (d) { return finite(d) && d > floor; })
        .x(function (d, i) { return x((i + 1) * s.step); })
        .y(function (d) { return y(d); });
      g.append('path').datum(s.values).attr('class', 'line ' + s.cls).attr('d', line)
        .style('stroke', s.colour || colours(k)).style('fill', 'none').style('stroke-width', 1.5);
    });
    legend(g, sets.map(function (s) { return s.name; }), sets.map(function (s, k) { return s.colour || colours(k); }));
  }
  function legend(g, names, cs) {
    names.forEach(function (n, k) {
      var c = cs ? cs[k] : colours(k);
      g.append('rect').attr('class', 'key').attr('x', w - 130).attr('y', k * 14 - 20).attr('width', 10).attr('height', 10).style('fill', c);
      g.append('text').attr('class', 'keytext').attr('x', w - 116).attr('y', k * 14 - 11).text(n);
    });
  }
  function waveform(parent, s) {
    var g = frame(parent, 'waveform (min/max per ' + s.step + ' s) and true peak', 'amplitude');
    var n = s.max.length;
    var x = d3.scale.linear().domain([0, Math.max(n * s.step, 0.1)]).range([0, w]);
    var tp = finite(s.true_peak_dbtp) ? Math.pow(10, s.true_peak_dbtp / 20) : 0;
    var peak = Math.max(tp, d3.max(s.max.map(Math.abs)) || 0, d3.max(s.min.map(Math.abs)) || 0);
    var lim = peak > 0 ? Math.min(1.2, peak * 1.15) : 1;
    var y = d3.scale.linear().domain([-lim, lim]).range([h, 0]);
    axes(g, x, y, w, h);
    var area = d3.svg.area().x(function (d, i) { return x((i + 0.5) * s.step); })
      .y0(function (d, i) { return y(s.min[i]); }).y1(function (d) { return y(d); });
    g.append('path').datum(s.max).attr('class', 'wave').attr('d', area).style('fill', '#4a7ab0');
    [tp, -tp].forEach(function (v) {
      g.append('line').attr('class', 'truepeak').attr('x1', 0).attr('x2', w).attr('y1', y(v)).attr('y2', y(v))
        .style('stroke', '#c03030').style('stroke-dasharray', '4,3');
    });
    g.append('text').attr('class', 'keytext').attr('x', 4).attr('y', y(tp) - 4)
      .text('true peak ' + (finite(s.true_peak_dbtp) ? s.true_peak_dbtp.toFixed(2) + ' dBTP' : '-inf'));
  }
  function table(parent, rows, header) {
    var t = parent.append('table').attr('class', 'figures');
    if (header) { var hr = t.append('tr'); header.forEach(function (c) { hr.append('th').text(c); }); }
    rows.forEach(function (r) { var tr = t.append('tr'); r.forEach(function (c, i) { tr.append(i ? 'td' : 'th').text(c); }); });
  }

  var body = d3.select('#report');
  body.append('h1').text(data.title);
  table(body, data.facts);
  if (data.comparison && data.sections.length > 0) {
    var cmp = body.append('section').attr('class', 'comparison');
    cmp.append('h2').text('side by side');
    var header = [''].concat(data.sections.map(function (s) { return s.title; }));
    table(cmp, data.sections[0].figures.map(function (r, i) {
      return [r[0]].concat(data.sections.map(function (s) { return s.figures[i] ? s.figures[i][1] : ''; }));
    }), header);
    var row = cmp.append('div').attr('class', 'row');
    bands(row, 'octave-band balance', data.sections.map(function (s) { return {name: s.title, values: s.bands}; }));
    lines(row, 'short-term loudness (3 s)', 'LUFS', data.sections.map(function (s) {
      return {name: s.title, values: s.short_term, step: s.step, cls: 'short-term all'};
    }), -70);
  }
  data.sections.forEach(function (s) {
    var sec = body.append('section').attr('class', 'stream');
    sec.append('h2').text(s.title);
    if (!data.comparison) table(sec, s.figures);
    var row = sec.append('div').attr('class', 'row');
    bands(row, 'octave-band balance', [{name: s.title, values: s.bands}]);
    lines(row, 'loudness over time', 'LUFS', [
      {name: 'momentary', values: s.momentary, step: s.step, cls: 'momentary', colour: '#8fb3d9'},
      {name: 'short-term', values: s.short_term, step: s.step, cls: 'short-term', colour: '#1f4e8c'}], -70);
    if (s.gain_reduction.length > 0)
      lines(row, 'gain reduction over time', 'dB', s.gain_reduction.map(function (r) {
        return {name: r.node, values: r.values, step: r.step, cls: 'gr'};
      }), -1);
    else
      row.append('div').attr('class', 'plotbox note').text(s.gain_reduction_note || 'gain reduction: no node of this graph records it');
    waveform(row, s);
    var dia = sec.append('div').attr('class', 'diagram');
    if (s.diagram) dia.html(s.diagram); else dia.append('p').attr('class', 'note').text(s.diagram_note);
  });
  document.body.setAttribute('data-rendered', 'yes');
})();
)JS";

constexpr const char* kStyle = R"CSS(
body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; }
.plotbox { border: 1px solid #ddd; padding: 4px; }
.plottitle { font-size: 12px; font-weight: bold; }
.note { font-size: 12px; color: #666; }
.axis path, .axis line { fill: none; stroke: #888; shape-rendering: crispEdges; }
.axis text, .ylabel, .xlabel, .keytext { font-size: 10px; }
table.figures { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
table.figures th, table.figures td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
table.figures th:first-child { text-align: left; }
.diagram svg { max-width: 100%; height: auto; }
)CSS";

} // namespace

std::string loadPlotLibrary(std::string& javascript) {
    const char* configured = std::getenv("STAGEGRAPH_D3_JS");
    const std::string path = configured && *configured ? configured : kDefaultD3;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "the plotting library d3 is not installed: cannot read '" + path +
               "' (Debian: apt-get install libjs-d3, or set STAGEGRAPH_D3_JS to d3.min.js version 3)";
    std::stringstream text;
    text << in.rdbuf();
    javascript = text.str();
    if (javascript.find("d3") == std::string::npos) return "'" + path + "' is not the d3 library";
    return {};
}

std::string htmlReportText(const HtmlReport& report, const std::string& javascript) {
    Json data = Json::object();
    data["title"] = report.title;
    data["comparison"] = report.comparison;
    data["facts"] = pairs(report.facts);
    Json labels = Json::array();
    for (int b = 0; b < octave::kBandCount; ++b) labels.push_back(bandLabel(b));
    data["band_labels"] = labels;
    Json sections = Json::array();
    for (const HtmlSection& s : report.sections) {
        Json item = Json::object();
        item["title"] = s.title;
        item["figures"] = pairs(s.figures);
        Json bands = Json::array();
        for (double v : s.balance.bandDb) bands.push_back(jsonFixed(v, 2));
        item["bands"] = bands;
        double step = kSeriesStepS, stepShort = kSeriesStepS, stepMin = kSeriesStepS, stepMax = kSeriesStepS;
        item["momentary"] = reduced(s.series.momentaryLufs, Reduce::Max, step);
        item["short_term"] = reduced(s.series.shortTermLufs, Reduce::Mean, stepShort);
        item["min"] = reduced(s.series.minSample, Reduce::Min, stepMin);
        item["max"] = reduced(s.series.maxSample, Reduce::Max, stepMax);
        item["step"] = jsonRounded(step);
        item["true_peak_dbtp"] = jsonFixed(s.loudness.truePeakDbtp, 3);
        Json reductions = Json::array();
        for (const auto& g : s.gainReduction) {
            double grStep = g.series.sampleRate > 0 ? double(g.series.framesPerValue) / g.series.sampleRate : kSeriesStepS;
            Json values = reduced(g.series.values, Reduce::Max, grStep);
            reductions.push_back(Json{{"node", g.node}, {"step", jsonRounded(grStep)}, {"values", values}});
        }
        item["gain_reduction"] = reductions;
        item["gain_reduction_note"] = s.gainReductionNote;
        item["diagram"] = inlineSvg(s.diagramSvg);
        item["diagram_note"] = s.diagramNote;
        sections.push_back(item);
    }
    data["sections"] = sections;

    std::string html;
    html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
    html += escapeHtml(report.title);
    html += "</title>\n<style>";
    html += kStyle;
    html += "</style>\n</head>\n<body>\n<div id=\"report\"></div>\n<script type=\"application/json\" id=\"report-data\">";
    html += scriptSafe(indentedText(data));
    html += "</script>\n<script>\n";
    html += scriptSafe(javascript);
    html += "\n</script>\n<script>";
    html += kPageScript;
    html += "</script>\n</body>\n</html>\n";
    return html;
}

void addDiagram(HtmlSection& section, const std::string& graphPath, const std::vector<std::string>& overrides,
                const std::vector<std::string>& includeDirs) {
    std::string dot, svg;
    if (auto error = graphDot(graphPath, overrides, includeDirs, dot); !error.empty()) {
        section.diagramNote = "no diagram: the graph could not be compiled again";
        return;
    }
    if (auto error = dotToSvg(dot, svg); !error.empty()) {
        section.diagramNote = "no diagram: " + error;
        return;
    }
    section.diagramSvg = std::move(svg);
}

std::string writeHtmlReport(const std::string& path, const HtmlReport& report) {
    std::string javascript;
    if (auto error = loadPlotLibrary(javascript); !error.empty()) return error;
    return writeTextFile(path, htmlReportText(report, javascript));
}

} // namespace sg::cli
