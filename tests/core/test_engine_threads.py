"""no_grad is thread-local; threads build and differentiate their own graphs at once."""

import threading

from autograd import Value, grad, is_recording, no_grad


def test_no_grad_in_one_thread_leaves_another_recording():
    inside = threading.Event()
    main_done = threading.Event()
    seen = {}

    def quiet():
        with no_grad():
            inside.set()
            assert main_done.wait(10)
            seen["recording"] = is_recording()
            seen["node"] = Value(1.0) * 2
        seen["after"] = Value(1.0) * 2

    worker = threading.Thread(target=quiet)
    worker.start()
    assert inside.wait(10)
    # The worker is inside no_grad right now; this thread must still record.
    assert is_recording()
    x = Value(3.0)
    y = x * 2
    main_done.set()
    worker.join(10)
    assert not worker.is_alive()
    assert y.parents[0] is x and y.op == "*"
    y.backward()
    assert x.grad == 2.0
    assert seen["recording"] is False
    assert seen["node"].parents == () and seen["node"].op == ""
    assert seen["after"].op == "*"


def test_threads_differentiate_separate_graphs_concurrently():
    start = threading.Barrier(2)
    errors = []

    def work(scale, use_no_grad):
        try:
            start.wait(10)
            for i in range(300):
                x = Value(0.1 * i)
                if use_no_grad and i % 2:
                    with no_grad():
                        c = x * x  # recorded as a constant leaf in this thread only
                    assert c.parents == ()
                y = (x * scale).tanh() * x
                y.backward()
                d = grad(lambda t, s=scale: (t * s).tanh() * t)(x.data)
                if abs(x.grad - d) > 1e-12:
                    errors.append((scale, i, x.grad, d))
        except Exception as exc:  # reported below: a thread's assert does not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, s > 1)) for s in (0.5, 2.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
