"""Interactive line charts (Altair, a Streamlit dependency) for figures that carry their numbers
(`Figure.data`): every point's series, x, value and 95% CI on hover, a CI band, one panel per
quantity with its own y scale. The PNG stays what report files use."""

from __future__ import annotations

from typing import Any

from scai.report.figures import ChartData


def line_chart(data: ChartData, title: str = "") -> Any:
    """An Altair chart of `data`: lines with points, CI bands, tooltips, panels side by side."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(data.rows, columns=["panel", "series", "x", "y", "low", "high"])
    x = alt.X("x:Q", title=data.x, axis=alt.Axis(tickMinStep=1))
    colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", columns=2))
    tooltip = [alt.Tooltip("series:N"), alt.Tooltip("x:Q", title=data.x),
               alt.Tooltip("y:Q", title="value", format=".4g"),
               alt.Tooltip("low:Q", title="95% CI low", format=".4g"),
               alt.Tooltip("high:Q", title="95% CI high", format=".4g")]
    line = alt.Chart().mark_line(point=True).encode(
        x=x, y=alt.Y("y:Q", title=data.y or None, scale=alt.Scale(zero=False)), color=colour,
        tooltip=tooltip)
    band = alt.Chart().mark_area(opacity=0.18).encode(x=x, y="low:Q", y2="high:Q", color=colour)
    layers = [band, line] if frame["low"].notna().any() else [line]
    chart = alt.layer(*layers, data=frame)
    panels = frame["panel"].nunique()
    if panels > 1:
        chart = chart.properties(width=max(180, 560 // panels), height=220).facet(
            column=alt.Column("panel:N", title=None)).resolve_scale(y="independent")
    else:
        chart = chart.properties(height=260)
    return chart.properties(title=title) if title else chart
