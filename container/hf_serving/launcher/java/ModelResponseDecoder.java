/*
 * This project's replacement for multi-model-server 1.1.11's decoder of the responses its Python workers send.
 *
 * Why: MMS's own decoder reads each prediction's 4-byte status code, and the entries of its header map, without
 * checking that those bytes have arrived. When a socket read ends inside one of them, it throws; MMS then kills the
 * worker and fails every request of the batch (a 503 to each client). A response longer than one read (2 KB at
 * first) is split at an arbitrary byte, so larger batches, or larger answers, crash the worker under load:
 * seen with batches of 64 requests on a GPU. This class checks every field before reading it and waits for more
 * bytes when one is incomplete, as a Netty decoder must. A batch's frame may be hundreds of megabytes (each answer up to
 * SERVE_MAX_RESPONSE_MB, hf_serving/serving/answer_size.py), arriving in reads of 64 KB: each read checks that the
 * whole frame is there by skipping over its fields, and only a complete frame is copied out, once. (Copying each
 * complete answer again at every read took minutes for a batch of eight 16 MB answers.)
 *
 * The frame, as mms/protocol/otf_message_handler.py writes it (all integers big-endian, 4 bytes):
 *   code, message length, message,
 *   per prediction: request-id length (-1 ends the list), request id, content-type length, content type,
 *     status code, reason length, reason, header count, per header (key length, key, value length, value),
 *     body length, body.
 *
 * The launcher puts the compiled class before model-server.jar on the class path (hf_serving/launcher/mms_fix.py),
 * so that the JVM loads it in place of the original, with the same name and constructor.
 */
package com.amazonaws.ml.mms.util.codec;

import com.amazonaws.ml.mms.util.messages.ModelWorkerResponse;
import com.amazonaws.ml.mms.util.messages.Predictions;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public class ModelResponseDecoder extends ByteToMessageDecoder {

    private static final int END_OF_LIST = -1;

    private final int maxBufferSize;

    public ModelResponseDecoder(int maxBufferSize) {
        this.maxBufferSize = maxBufferSize;
        // The reads of a large frame are kept as they arrived, not merged into one buffer that is copied into a
        // larger one as it grows: that held two copies of a 512 MB frame (32 answers of 16 MB) in direct memory
        // at once, past the JVM's limit (OutOfMemoryError, and the worker killed).
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        in.markReaderIndex();
        try {
            readResponse(in, false);
        } catch (Incomplete e) {
            in.resetReaderIndex(); // called again when more bytes arrive
            return;
        }
        in.resetReaderIndex();
        try {
            out.add(readResponse(in, true));
        } catch (Incomplete e) { // cannot happen: the frame was all there
            throw new IllegalStateException("a complete worker response read as incomplete", e);
        }
    }

    /** Thrown, without a stack trace, when the frame's next field has not fully arrived yet. */
    private static final class Incomplete extends Exception {
        private static final long serialVersionUID = 1L;
        private static final Incomplete INSTANCE = new Incomplete();

        private Incomplete() {
            super(null, null, false, false);
        }
    }

    /** The response, or, when keep is false, null once its every field has been skipped over (none copied). */
    private ModelWorkerResponse readResponse(ByteBuf in, boolean keep) throws Incomplete {
        ModelWorkerResponse response = new ModelWorkerResponse();
        response.setCode(readInt(in));
        response.setMessage(readString(in, readLength(in), keep));
        List<Predictions> predictions = new ArrayList<>();
        int idLength;
        while ((idLength = readInt(in)) != END_OF_LIST) {
            Predictions prediction = new Predictions();
            prediction.setRequestId(readString(in, checkedLength(idLength), keep));
            prediction.setContentType(readString(in, readLength(in), keep));
            prediction.setStatusCode(readInt(in));
            prediction.setReasonPhrase(readString(in, readLength(in), keep));
            prediction.setHeaders(readHeaders(in, keep));
            prediction.setResp(readBytes(in, readLength(in), keep));
            if (keep) {
                predictions.add(prediction);
            }
        }
        response.setPredictions(predictions);
        return keep ? response : null;
    }

    private Map<String, String> readHeaders(ByteBuf in, boolean keep) throws Incomplete {
        int count = readLength(in);
        Map<String, String> headers = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String key = readString(in, readLength(in), keep);
            String value = readString(in, readLength(in), keep);
            if (keep) {
                headers.put(key, value);
            }
        }
        return headers;
    }

    private static int readInt(ByteBuf in) throws Incomplete {
        if (in.readableBytes() < 4) {
            throw Incomplete.INSTANCE;
        }
        return in.readInt();
    }

    private int readLength(ByteBuf in) throws Incomplete {
        return checkedLength(readInt(in));
    }

    private int checkedLength(int length) {
        if (length < 0 || length > maxBufferSize) {
            throw new CorruptedFrameException("invalid length in a worker response: " + length);
        }
        return length;
    }

    private static byte[] readBytes(ByteBuf in, int length, boolean keep) throws Incomplete {
        if (in.readableBytes() < length) {
            throw Incomplete.INSTANCE;
        }
        if (!keep) {
            in.skipBytes(length);
            return null;
        }
        byte[] bytes = new byte[length];
        in.readBytes(bytes);
        return bytes;
    }

    private static String readString(ByteBuf in, int length, boolean keep) throws Incomplete {
        byte[] bytes = readBytes(in, length, keep);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }
}
