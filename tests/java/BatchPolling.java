/*
 * Test harness: how a worker's batch is taken from a model's queue (Model.pollBatch), with whichever Model class the
 * class path puts first (this container's, launcher/java/Model.java, or the one in MMS's jar). Prints one line per
 * case, `name=value`, for tests/unit/launcher/test_mms_fix.py to check.
 */
import com.amazonaws.ml.mms.util.messages.RequestInput;
import com.amazonaws.ml.mms.util.messages.WorkerCommands;
import com.amazonaws.ml.mms.wlm.Job;
import com.amazonaws.ml.mms.wlm.Model;
import java.util.LinkedHashMap;
import java.util.Map;

public final class BatchPolling {
    private static int next;

    private static Job job() {
        return new Job(null, "model", WorkerCommands.PREDICT, new RequestInput("job-" + next++));
    }

    private static Model model(int batchSize, int delayMs) {
        Model model = new Model(null, 100, null);
        model.setBatchSize(batchSize);
        model.setMaxBatchDelay(delayMs);
        return model;
    }

    private static Map<String, Job> poll(Model model, String thread) throws InterruptedException {
        Map<String, Job> batch = new LinkedHashMap<>();
        model.pollBatch(thread, 0, batch);
        return batch;
    }

    private static void later(Model model, long afterMs) {
        Thread sender = new Thread(() -> {
            try {
                Thread.sleep(afterMs);
            } catch (InterruptedException e) {
                return;
            }
            model.addJob(job());
        });
        sender.setDaemon(true);
        sender.start();
    }

    public static void main(String[] args) throws Exception {
        // Five requests queued while the worker was busy, batches of up to 8, no delay: one batch of five.
        Model queued = model(8, 0);
        for (int i = 0; i < 5; i++) {
            queued.addJob(job());
        }
        System.out.println("queued_no_delay=" + poll(queued, "W-1").size());

        // Twelve queued, batches of up to 8 (delay 1 ms, the default): 8, then the other 4, in their order.
        Model many = model(8, 1);
        for (int i = 0; i < 12; i++) {
            many.addJob(job());
        }
        Map<String, Job> first = poll(many, "W-1");
        Map<String, Job> second = poll(many, "W-1");
        System.out.println("many_first=" + first.size());
        System.out.println("many_second=" + second.size());
        System.out.println("many_in_order=" + String.join(",", first.keySet()) + "," + String.join(",", second.keySet()));

        // One request, no delay, a second arriving 200 ms later: the first goes alone, at once.
        Model alone = model(8, 0);
        alone.addJob(job());
        later(alone, 200);
        System.out.println("alone_no_delay=" + poll(alone, "W-1").size());

        // A request alone, as the one before it (none yet), a delay of 5 s: it goes at once, waiting for nothing.
        Model lone = model(8, 5_000);
        lone.addJob(job());
        long began = System.nanoTime();
        System.out.println("lone=" + poll(lone, "W-1").size());
        System.out.println("lone_ms=" + (System.nanoTime() - began) / 1_000_000);

        // After a batch of two, a request alone with a delay of 300 ms: it waits the delay for company, goes alone.
        Model waits = model(8, 300);
        waits.addJob(job());
        waits.addJob(job());
        System.out.println("pair=" + poll(waits, "W-1").size());
        waits.addJob(job());
        began = System.nanoTime();
        System.out.println("waited_alone=" + poll(waits, "W-1").size());
        System.out.println("waited_ms=" + (System.nanoTime() - began) / 1_000_000);

        // After a batch of two, batches of 2, a delay of 20 s, the second request arriving 100 ms after the first:
        // a full batch, long before the delay is over.
        Model fills = model(2, 20_000);
        fills.addJob(job());
        fills.addJob(job());
        poll(fills, "W-1");
        fills.addJob(job());
        later(fills, 100);
        began = System.nanoTime();
        System.out.println("filled=" + poll(fills, "W-1").size());
        System.out.println("filled_ms=" + (System.nanoTime() - began) / 1_000_000);

        // A job for one worker thread alone (a management request) comes before the data queue's, and alone.
        Model control = model(8, 0);
        control.addJob(job());
        Job management = job();
        control.addJob("W-7", management);
        Map<String, Job> own = poll(control, "W-7");
        System.out.println("control=" + own.size() + ":" + own.containsKey(management.getJobId()));
        System.out.println("after_control=" + poll(control, "W-7").size());
    }
}
