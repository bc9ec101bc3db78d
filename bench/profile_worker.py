"""`python -m bench.profile_worker OUT.prof worker …`: the `switchboard` command under cProfile, stats to OUT.prof.

The benchmark uses it with `--profile` to show where one worker process spends its time while draining.
cProfile slows the process down (roughly 2x here), so profiled runs are never reported as the figures.
"""

from __future__ import annotations

import cProfile
import sys


def main() -> None:
    out, *args = sys.argv[1:]
    sys.argv = ["switchboard", *args]
    from switchboard.cli import main as switchboard

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        switchboard()
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    sys.exit(code)


if __name__ == "__main__":
    main()
