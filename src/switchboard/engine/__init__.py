"""Executing runs. A map, in the order a run meets it:

- `transitions`  every status change of a run, one named statement each (the queue is the runs table)
- `limits`       per-agent concurrency limits: groups and their lock
- `worker`       claims runs (woken by NOTIFY), renews leases, sweeps lapsed ones; `standalone` runs one as a process
- `load`         what a worker reads to execute or resume a run
- `executor`     drives the Pydantic AI agent node by node; `outcome` maps how it stopped to a final status
- `progress`     the run's messages as rows and events; `records` writes them, with steps and usage
- `ledger`       the tool-call ledger and approvals (a Pydantic AI capability); `delegation` an agent called as a
                 tool, as a child run
- `children`     child runs: spawn, a parent waiting for them holding no worker, woken by the last to finish;
                 `trees` cancels a finished run's children, and what the sweeper finds (orphans, late waiters)
- `pipeline`     a pipeline run: start its next stage's steps as child runs and wait, or settle
- `event_buffer` text deltas batched into ~50 ms writes; `journal` numbers, stores and announces events
- `settling`     the last transaction of an execution: settle, pause, wait for child runs or release
- `lease`        the fence every write of a worker checks
- `channels`     the NOTIFY channels
"""
