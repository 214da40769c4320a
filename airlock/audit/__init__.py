"""``airlock audit``: the rules in policy/ over a synth bundle, with stack-config suppressions."""
