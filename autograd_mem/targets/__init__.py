"""What a measured child runs: built-in workloads, a user's function, a whole program."""
