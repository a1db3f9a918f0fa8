"""Supervise models as they change: behavioural comparison (`diff`), drift over iterated
self-training (`drift`) and reflectivity / value-stability benchmarks (`bench`)."""
