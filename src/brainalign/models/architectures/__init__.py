"""Network architectures written in this package (networks no installed library provides), e.g. CORnet."""
