"""``pingan demo``: a whole check-in round for a sample sub-district, on the simulated carrier."""
