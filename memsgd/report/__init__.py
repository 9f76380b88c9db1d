"""Figures and a standalone HTML report drawn from a run's summary.

The report reads the ``summary.json`` dict written by ``memsgd analyze``
(``docs/summary-schema.md`` section 5) and nothing else: no estimator is
re-run. Figures are matplotlib ``Figure`` objects rendered with Agg; pyplot
is never imported, so the caller's backend is left alone.

    >>> from memsgd import report
    >>> html = report.write_report(summary, "runs/default")  # doctest: +SKIP
    >>> print(report.format_table(report.summary_table(summary)))  # doctest: +SKIP

Reference: Tan, Zhang & Liu, "Understanding Short-Range Memory Effects in
Deep Neural Networks", arXiv:2105.02062.
"""

from memsgd.report._compare import comparison_table, write_comparison
from memsgd.report._figures import FIGURE_NAMES, FIGURES, figures
from memsgd.report._html import write_report
from memsgd.report._style import arch_colors
from memsgd.report._table import COLUMNS, format_table, summary_table

__all__ = [
    "COLUMNS",
    "FIGURES",
    "FIGURE_NAMES",
    "arch_colors",
    "comparison_table",
    "figures",
    "format_table",
    "summary_table",
    "write_comparison",
    "write_report",
]
