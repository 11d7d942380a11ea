"""The learner's starter files, one per lesson: write the functions in place."""
