"""Validation: live runs compared with their replays, QUEUE calibrated, the nightly report."""
