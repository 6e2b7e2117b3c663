// Test harness for tests/unit/test_mms_response_decoder.py: feeds one framed worker response, as MMS's Python worker
// wrote it, to whichever ModelResponseDecoder the class path holds first: whole, then split in two at every byte.
// Prints the whole response decoded (one field per line), then one line per split point: SAME, DIFF, NONE (nothing
// decoded) or ERR and the exception, into OUT_FILE (stdout gets the jar's logging noise).
// Usage: java -cp HARNESS:[FIXED:]model-server.jar DecoderSplits FRAME_FILE OUT_FILE
import com.amazonaws.ml.mms.util.codec.ModelResponseDecoder;
import com.amazonaws.ml.mms.util.messages.ModelWorkerResponse;
import com.amazonaws.ml.mms.util.messages.Predictions;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.TreeMap;

public final class DecoderSplits {
    private static final int MAX_BUFFER = 6 * 1024 * 1024;

    public static void main(String[] args) throws Exception {
        byte[] frame = Files.readAllBytes(Paths.get(args[0]));
        StringBuilder lines = new StringBuilder(decode(frame, frame.length)).append("\n--\n");
        String whole = decode(frame, frame.length);
        for (int split = 1; split < frame.length; split++) {
            String result;
            try {
                String decoded = decode(frame, split);
                result = decoded == null ? "NONE" : decoded.equals(whole) ? "SAME" : "DIFF";
            } catch (Exception e) {
                result = "ERR " + e.getClass().getSimpleName();
            }
            lines.append(split).append(' ').append(result).append('\n');
        }
        Files.write(Paths.get(args[1]), lines.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String decode(byte[] frame, int split) {
        EmbeddedChannel channel = new EmbeddedChannel(new ModelResponseDecoder(MAX_BUFFER));
        channel.writeInbound(Unpooled.wrappedBuffer(frame, 0, split));
        if (split < frame.length) {
            channel.writeInbound(Unpooled.wrappedBuffer(frame, split, frame.length - split));
        }
        ModelWorkerResponse response = channel.readInbound();
        Object extra = channel.readInbound();
        channel.finishAndReleaseAll();
        if (response == null || extra != null) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        out.append(response.getCode()).append('\n').append(response.getMessage()).append('\n');
        for (Predictions p : response.getPredictions()) {
            out.append(p.getRequestId()).append('|').append(p.getContentType()).append('|').append(p.getStatusCode())
                    .append('|').append(p.getReasonPhrase()).append('|').append(new TreeMap<>(p.getHeaders()))
                    .append('|').append(new String(p.getResp(), StandardCharsets.UTF_8)).append('\n');
        }
        return out.toString().trim();
    }
}
