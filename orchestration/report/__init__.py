"""The journey report: `published/report/*.html`, self-contained pages a person reads
offline, built from the published copy of the marts (`build_report`)."""

from orchestration.report.build import REPORT_DIR, build_report

__all__ = ["REPORT_DIR", "build_report"]
