"""Run (or resume) a scripted Contract simulation slowly, so a test can kill it mid-run."""

from __future__ import annotations

import sys

from scai.contract import simulate
from scai.kinds import load_config
from tests.contract_script import ContractScript

if __name__ == "__main__":
    config_path, resume = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    backend = ContractScript(offer_share=0.3, delay=0.05)
    sim = simulate(load_config(config_path), runs=1, resume=resume, cache=False, progress=False,
                   backend=backend)
    r = sim.runs[0]
    print(f"played={r.episodes_run} replayed={r.episodes_replayed} calls={len(backend.calls)}")
