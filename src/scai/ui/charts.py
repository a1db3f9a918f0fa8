"""Interactive line charts (Altair, a Streamlit dependency) for figures that carry their numbers
(`Figure.data`): every point's series, x, value and 95% CI on hover, a CI band, one panel per
quantity with its own y scale. The PNG stays what report files use."""

from __future__ import annotations

from typing import Any

from scai.report.figures import COLOURS, ChartData

HEIGHT = 240  # pixels of plot area, as tall as the PNG beside it reads


def line_chart(data: ChartData, title: str = "") -> Any:
    """An Altair chart of `data`: lines with points, CI bands, tooltips, panels side by side."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(data.rows, columns=["panel", "series", "x", "y", "low", "high"])
    x = alt.X("x:Q", title=data.x, axis=alt.Axis(tickMinStep=1))
    # scai's palette, as on the PNG (Streamlit's theme would draw every series in blues)
    colour = alt.Color("series:N", title=None, scale=alt.Scale(range=COLOURS),
                       legend=alt.Legend(orient="bottom", columns=2))
    banded = bool(frame["low"].notna().any())
    tooltip = [alt.Tooltip("series:N"), alt.Tooltip("x:Q", title=data.x),
               alt.Tooltip("y:Q", title="value", format=".4g")]
    if banded:
        tooltip += [alt.Tooltip("low:Q", title="95% CI low", format=".4g"),
                    alt.Tooltip("high:Q", title="95% CI high", format=".4g")]
    y = alt.Y("y:Q", title=data.y or None, scale=alt.Scale(zero=False),
              axis=alt.Axis(format="~g"))
    line = alt.Chart().mark_line(point=True).encode(x=x, y=y, color=colour, tooltip=tooltip)
    # wide transparent targets: the hover finds a point without pixel-exact aim
    targets = alt.Chart().mark_point(size=500, opacity=0).encode(x=x, y=y, tooltip=tooltip)
    band = alt.Chart().mark_area(opacity=0.18, tooltip=False).encode(
        x=x, y="low:Q", y2="high:Q", color=colour)
    layers = [band, line, targets] if banded else [line, targets]
    chart = alt.layer(*layers, data=frame)
    panels = frame["panel"].nunique()
    if panels > 1:
        chart = chart.properties(width=max(180, 560 // panels), height=HEIGHT).facet(
            column=alt.Column("panel:N", title=None, sort=list(dict.fromkeys(frame["panel"])))
        ).resolve_scale(y="independent")
    else:
        chart = chart.properties(height=HEIGHT)
    chart = chart.properties(padding={"top": 12, "left": 4, "right": 4, "bottom": 4})
    return chart.properties(title=title) if title else chart
