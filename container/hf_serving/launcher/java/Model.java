/*
 * This project's replacement for multi-model-server 1.1.11's Model: a registered model's settings and job queues,
 * and how a worker's next batch is taken from them (pollBatch).
 *
 * Why: MMS's own pollBatch, after the first job, waits up to maxBatchDelay for each further job, and counts that time
 * in whole milliseconds. So a lone request always waits the whole delay for a companion that does not come (1 ms on
 * every request at concurrency 1 with this container's default: on the Zen 5 host, 1.1 of a tiny model's 2.3 ms at
 * p50, bench/results/batch-delay-zen5.md), and a delay of 0, which should mean "take what is queued, wait for
 * nothing", ends every batch at two jobs. Here a batch is:
 *   1. a job sent to this worker thread alone (a management request), if one waits; else
 *   2. the first data job (waiting for it as long as it takes), then every job already queued, up to the batch size,
 *      without waiting: a worker that was busy finds the requests that came meanwhile; then
 *   3. if the batch is not full, maxBatchDelay is above 0 and the model's previous batch held more than one job,
 *      more jobs as they arrive until that many milliseconds (counted in nanoseconds) have passed since the first
 *      was taken. Requests that come in company (several clients, a burst) are gathered into fuller batches, which
 *      is what the delay is for (at concurrency 4 it made batches of about 3.6 requests instead of 2); a request
 *      that came alone after one that came alone is not held back for company that has not been seen.
 * The rest keeps MMS's behaviour and signatures (tests/unit/launcher/test_batch_polling.py compares this class's
 * public members with the jar's), so that the JVM can load it in place of the original: the launcher puts the
 * compiled class before model-server.jar on the class path (hf_serving/launcher/mms_fix.py).
 */
package com.amazonaws.ml.mms.wlm;

import com.amazonaws.ml.mms.archive.ModelArchive;
import com.amazonaws.ml.mms.util.ConfigManager;
import java.io.File;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class Model {

    /** The key of the queue every data request joins; other keys are one worker thread's own control queue. */
    public static final String DEFAULT_DATA_QUEUE = "DATA_QUEUE";

    private static final Logger logger = LoggerFactory.getLogger(Model.class);

    private final ModelArchive archive;
    private final String preload;
    private final ConcurrentMap<String, LinkedBlockingDeque<Job>> queues = new ConcurrentHashMap<>();
    // One worker at a time forms its batch, so that two workers do not split what is queued between them.
    private final ReentrantLock batching = new ReentrantLock();
    private final AtomicInteger failuresInARow = new AtomicInteger();
    private final AtomicInteger serverPort = new AtomicInteger(-1);
    private volatile int minWorkers;
    private volatile int maxWorkers;
    private volatile int batchSize = 1;
    private volatile int maxBatchDelay = 100; // milliseconds; MMS's default, until registration sets it
    private volatile int responseTimeoutSeconds;
    private volatile WorkerThread serverThread;
    private volatile int lastBatch = 1; // jobs in the model's previous data batch, any worker's

    public Model(ModelArchive modelArchive, int queueSize, String preloadModel) {
        archive = modelArchive;
        preload = preloadModel;
        queues.put(DEFAULT_DATA_QUEUE, new LinkedBlockingDeque<>(queueSize));
    }

    public String getModelName() {
        return archive.getModelName();
    }

    public File getModelDir() {
        return archive.getModelDir();
    }

    public String getModelUrl() {
        return archive.getUrl();
    }

    public ModelArchive getModelArchive() {
        return archive;
    }

    public int getMinWorkers() {
        return minWorkers;
    }

    public void setMinWorkers(int workers) {
        minWorkers = workers;
    }

    public int getMaxWorkers() {
        return maxWorkers;
    }

    public void setMaxWorkers(int workers) {
        maxWorkers = workers;
    }

    public int getBatchSize() {
        return batchSize;
    }

    public void setBatchSize(int size) {
        batchSize = size;
    }

    public int getMaxBatchDelay() {
        return maxBatchDelay;
    }

    public void setMaxBatchDelay(int milliseconds) {
        maxBatchDelay = milliseconds;
    }

    /** A job for one worker thread alone (its queue is made at the first). */
    public void addJob(String threadId, Job job) {
        queues.computeIfAbsent(threadId, id -> new LinkedBlockingDeque<>()).offer(job);
    }

    public void removeJobQueue(String threadId) {
        if (!DEFAULT_DATA_QUEUE.equals(threadId)) {
            queues.remove(threadId);
        }
    }

    /** A data request; false when the queue is full (MMS answers 503). */
    public boolean addJob(Job job) {
        return dataQueue().offer(job);
    }

    /** A data request put back at the head of the queue (a worker that failed before sending it). */
    public void addFirst(Job job) {
        dataQueue().addFirst(job);
    }

    /** Fills `jobsRepo` (empty on entry) with the worker thread's next batch: see the comment at the top. */
    public void pollBatch(String threadId, long waitTime, Map<String, Job> jobsRepo) throws InterruptedException {
        if (jobsRepo == null || threadId == null || threadId.isEmpty()) {
            throw new IllegalArgumentException("pollBatch needs a worker thread's id and an empty map");
        }
        if (!jobsRepo.isEmpty()) {
            throw new IllegalArgumentException("pollBatch was given a map still holding jobs");
        }
        LinkedBlockingDeque<Job> own = queues.get(threadId);
        if (own != null && !own.isEmpty()) {
            Job control = own.poll(waitTime, TimeUnit.MILLISECONDS);
            if (control != null) {
                jobsRepo.put(control.getJobId(), control);
                return;
            }
        }
        LinkedBlockingDeque<Job> data = dataQueue();
        batching.lockInterruptibly();
        try {
            Job first = data.take();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxBatchDelay);
            jobsRepo.put(first.getJobId(), first);
            int size = Math.max(1, batchSize);
            Job next;
            while (jobsRepo.size() < size && (next = data.poll()) != null) {
                jobsRepo.put(next.getJobId(), next);
            }
            while (lastBatch > 1 && jobsRepo.size() < size) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || (next = data.poll(left, TimeUnit.NANOSECONDS)) == null) {
                    break;
                }
                jobsRepo.put(next.getJobId(), next);
            }
            lastBatch = jobsRepo.size();
            logger.trace("batch of {} for {}", jobsRepo.size(), threadId);
        } finally {
            batching.unlock();
        }
    }

    public int getPort() {
        return serverPort.get();
    }

    public void setPort(int port) {
        serverPort.set(port);
    }

    public int incrFailedInfReqs() {
        return failuresInARow.incrementAndGet();
    }

    public void resetFailedInfReqs() {
        failuresInARow.set(0);
    }

    public int getResponseTimeoutSeconds() {
        return ConfigManager.getInstance().isDebug() ? Integer.MAX_VALUE : responseTimeoutSeconds;
    }

    public void setResponseTimeoutSeconds(int seconds) {
        responseTimeoutSeconds = seconds;
    }

    public WorkerThread getServerThread() {
        return serverThread;
    }

    public void setServerThread(WorkerThread thread) {
        serverThread = thread;
    }

    public String preloadModel() {
        return preload;
    }

    private LinkedBlockingDeque<Job> dataQueue() {
        return queues.get(DEFAULT_DATA_QUEUE);
    }
}
