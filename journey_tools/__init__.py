"""Tools beside the product: the sample-data generator (`journey generate`, and the sample
that `journey run` creates on first use), the benchmark (`make bench`) and SQLFluff's
templater for the models (`sqlfluff_templater`). The warehouse itself (`orchestration`) never
imports them except for the first two commands."""
