"""One self-contained HTML report over run directories, benchmark and holdout outputs."""

from vadkit.report.inputs import ReportInput, load_input
from vadkit.report.render import build_report, video_error, write_report

__all__ = ["ReportInput", "build_report", "load_input", "video_error", "write_report"]
