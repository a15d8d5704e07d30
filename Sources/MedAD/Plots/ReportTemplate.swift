// report.html's Mustache template (rendered by swift-mustache in HTMLReport). Every {{value}} is HTML-escaped by
// the engine; the one triple-mustache, {{{svg}}}, takes SVGDrawing's output, whose own text is XML-escaped.
extension HTMLReport {
    static let template = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1500px; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05em; }
        p.note { color: #555; max-width: 60em; }
        table { border-collapse: collapse; margin-bottom: 1em; font-size: 0.9em; }
        td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
        th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
        td.best { font-weight: bold; background: #fff4d6; }
        .charts { display: flex; flex-wrap: wrap; gap: 8px; } .charts svg { max-width: 100%; height: auto; }
        section { overflow-x: auto; } figure { margin: 4px 0; } figure.strip img { image-rendering: pixelated; height: 128px; }
        figcaption { font-size: 0.85em; color: #444; }
        </style>
        </head>
        <body>
        <h1>{{title}}</h1>
        {{#tables}}
        <section>
        <h2>{{heading}}</h2>
        <p class="note">{{note}}</p>
        {{#hasRows}}
        <table>
        <thead><tr>{{#header}}<th>{{.}}</th>{{/header}}</tr></thead>
        <tbody>
        {{#rows}}<tr>{{#cells}}<td{{#best}} class="best"{{/best}}>{{text}}</td>{{/cells}}</tr>
        {{/rows}}
        </tbody>
        </table>
        {{/hasRows}}
        </section>
        {{/tables}}
        {{#sections}}
        <section>
        <h2>{{title}}</h2>
        {{#note}}<p class="note">{{note}}</p>{{/note}}
        <div class="charts">
        {{#charts}}<figure class="chart">{{{svg}}}</figure>
        {{/charts}}
        </div>
        {{#hasStrips}}
        <h3>Anomaly maps</h3>
        <p class="note">Each strip: input | mean reconstruction | the score's per-pixel map | its saliency, |∂score/∂input| (maps min–max scaled; dsu and meta_rec have no saliency). Lesion outlines in white where ground truth exists.</p>
        {{#strips}}<figure class="strip"><img alt="{{caption}}" src="data:image/png;base64,{{png}}"><figcaption>{{caption}}</figcaption></figure>
        {{/strips}}
        {{/hasStrips}}
        </section>
        {{/sections}}
        </body>
        </html>

        """#
}
