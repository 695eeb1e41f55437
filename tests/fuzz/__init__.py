"""Generated hostile inputs for every reader a user can hand a file to (issue 29).

The generators draw every choice from a :class:`random.Random`, so the same code feeds the Hypothesis tests
(``st.randoms()``, which shrinks) and the long campaign (``scripts/fuzz.py``, seeded ``random.Random``):

- :mod:`.mutate`: format-blind byte mutations; :mod:`.headers`: declared sizes, PNG chunks, JPEG segments;
- :mod:`.images`, :mod:`.checkpoints`, :mod:`.training_states`, :mod:`.configs`, :mod:`.shards`: each reader's
  valid inputs and their damaged forms;
- :mod:`.targets`: the readers by name; :mod:`.check`: the property (a result, or a one-line DehazeError naming
  the input; time and memory bounds);
- :mod:`.case`: a case and its corpus file; :mod:`.shrink`: minimising a failure;
- :mod:`.worker`, :mod:`.campaign`, :mod:`.report`: the campaign's child processes, batches and tally.
"""
