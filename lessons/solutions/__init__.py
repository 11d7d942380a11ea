"""The reference solutions, one file per lesson, the same function names as the exercises."""
