package io.github.apisixsession.core.codec;

import java.io.ByteArrayOutputStream;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw DEFLATE (zlib's windowBits -15), as lua-resty-session compresses large plaintexts. */
final class RawDeflate {

    private RawDeflate() {
    }

    static byte[] deflate(byte[] data) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        try {
            deflater.setInput(data);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length / 2));
            byte[] buf = new byte[8192];
            while (!deflater.finished()) {
                int n = deflater.deflate(buf);
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    /** Inflates at most {@code limit} bytes: anything larger is a zip bomb and refused. */
    static byte[] inflate(byte[] data, int limit) throws SessionCodecException {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(data);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length * 4));
            byte[] buf = new byte[8192];
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0) {
                    if (inflater.needsDictionary()) {
                        throw new SessionCodecException("unable to inflate session data (need dictionary)");
                    }
                    if (inflater.needsInput()) {
                        throw new SessionCodecException("unable to inflate session data (truncated input)");
                    }
                }
                if (out.size() + n > limit) {
                    throw new SessionCodecException("unable to inflate session data (size limit exceeded)");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new SessionCodecException("unable to inflate session data (data error)");
        } finally {
            inflater.end();
        }
    }
}
