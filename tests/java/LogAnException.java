import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** Logs what multi-model-server logs, through the log4j inside its jar, with the configuration the launcher writes. */
public final class LogAnException {
    private LogAnException() {}

    public static void main(String[] args) {
        Logger logger = LogManager.getLogger("com.amazonaws.ml.mms.wlm.WorkerThread");
        logger.info("{\"level\": \"INFO\", \"logger\": \"hf_serving.requests\", \"message\": \"a worker's line\"}");
        logger.info("Retry worker: 9000 in 1 seconds.");
        logger.warn("Backend worker error", new IllegalStateException("worker died",
                new java.io.IOException("Connection reset by peer")));
    }
}
