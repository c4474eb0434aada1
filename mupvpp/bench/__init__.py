"""Measurement: throughput per behaviour and handover loss on the embedded
engine (``run``), instruction/cycle counts of the core (``core``), session
install rate (``control``), reports and plots (``report``)."""
