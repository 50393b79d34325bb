"""Types, labelled-array helpers, configuration, errors and the array backend shared by every layer."""
