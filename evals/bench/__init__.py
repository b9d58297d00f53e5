"""Performance benchmarks behind `longshot bench decode|frames`."""
