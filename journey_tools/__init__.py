"""Tools beside the product: the sample-data generator (`journey generate`, and the sample
that `journey run` creates on first use) and the benchmark (`make bench`). The warehouse
itself (`orchestration`) never imports them except for those two commands."""
