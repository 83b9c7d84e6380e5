"""Scalar engines written the way learners write them after the micrograd lecture: one correct
(`lecture`), one correct in another style (`local_grads`), and the classic mistakes and
misbehaviours (`mistakes`, `broken`), for `tests/testing/test_grade.py`."""
