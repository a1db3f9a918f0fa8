"""What `scai audit` leaves in its folder: transcripts.jsonl (every seed's tree and scores),
seed-<S>/transcript.md (its branches, readable), summary.md and audit_scores.png."""

from __future__ import annotations

from pathlib import Path

from scai.report.audit import audit_page, transcript_page
from scai.report.export import write_files
from scai.supervise.audit.result import AuditResult


def write_outputs(result: AuditResult, out_dir: Path) -> None:
    """Write every file and record their paths in `result`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    transcripts = out_dir / "transcripts.jsonl"
    transcripts.write_text("".join(s.model_dump_json() + "\n" for s in result.seeds),
                           encoding="utf-8")
    for s in result.seeds:
        write_files(transcript_page(result, s), out_dir / f"seed-{s.seed}",
                    markdown="transcript.md")
    result.transcripts, result.summary_md = str(transcripts), str(out_dir / "summary.md")
    result.plot = str(out_dir / "audit_scores.png")
    write_files(audit_page(result), out_dir, markdown="summary.md")
