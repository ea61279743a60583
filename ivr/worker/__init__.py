"""The worker: dialing at pace, the scheduler's jobs, the sweeper and worker heartbeats."""
