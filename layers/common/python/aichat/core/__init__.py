"""The small pieces every other folder uses: settings, API models, errors, identity, money, ids, time, logs."""
