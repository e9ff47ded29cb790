package dev.panomni.parallel.launch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The small TCP key-value store ranks rendezvous through (like torch.distributed's TCPStore): rank
 * 0 serves it at MASTER_ADDR:MASTER_PORT, every rank connects as a client, and values such as the
 * NCCL unique id are published with {@link #set} and read with {@link #get}, which waits.
 *
 * <p>Protocol: one request per line, {@code SET key base64}, {@code SETN key reads base64} (a value
 * that disappears after {@code reads} GETs: collectives through the store use it so that their
 * buffers do not pile up), {@code GET key timeoutMillis}, {@code ADD key delta}; one reply line per
 * request ({@code OK}, {@code VAL base64}, {@code NUM n}, or {@code TIMEOUT}).
 */
public final class KeyValueStore implements AutoCloseable {
    private final ServerSocket server;
    private final ExecutorService serverThreads;
    private final Socket socket;
    private final BufferedReader in;
    private final PrintWriter out;

    private KeyValueStore(ServerSocket server, ExecutorService threads, Socket socket) throws IOException {
        this.server = server;
        this.serverThreads = threads;
        this.socket = socket;
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        this.out = new PrintWriter(new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8), true);
    }

    /** Starts the server on {@code port} (0 picks a free one) and connects to it. */
    public static KeyValueStore serve(String host, int port) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "kv-store");
            t.setDaemon(true);
            return t;
        });
        Map<String, byte[]> data = new HashMap<>();
        Map<String, Integer> readsLeft = new HashMap<>();
        threads.submit(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket c = ss.accept();
                    threads.submit(() -> serveClient(c, data, readsLeft));
                } catch (IOException e) {
                    return;
                }
            }
        });
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getByName(host), ss.getLocalPort()), 10_000);
        return new KeyValueStore(ss, threads, s);
    }

    /** Connects to the store at host:port, retrying until {@code timeout} (the server may start later). */
    public static KeyValueStore connect(String host, int port, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), 2_000);
                return new KeyValueStore(null, null, s);
            } catch (IOException e) {
                last = e;
                s.close();
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new IOException("could not reach the rendezvous store at " + host + ":" + port + " within "
                + timeout.toSeconds() + " s: is rank 0 running, and MASTER_ADDR/MASTER_PORT right?", last);
    }

    /** Port the server listens on (server side only). */
    public int port() {
        return server != null ? server.getLocalPort() : socket.getPort();
    }

    public synchronized void set(String key, byte[] value) throws IOException {
        out.println("SET " + key + " " + Base64.getEncoder().encodeToString(value));
        expect("OK");
    }

    /**
     * Publishes {@code value} under {@code key} for exactly {@code reads} {@link #get}s, after which
     * the store forgets it (values exchanged once per collective).
     */
    public synchronized void set(String key, byte[] value, int reads) throws IOException {
        if (reads < 1) {
            throw new IllegalArgumentException("a value must be readable at least once, got reads = " + reads);
        }
        out.println("SETN " + key + " " + reads + " " + Base64.getEncoder().encodeToString(value));
        expect("OK");
    }

    /** The value of {@code key}, waiting up to {@code timeout} for some rank to set it. */
    public synchronized byte[] get(String key, Duration timeout) throws IOException {
        out.println("GET " + key + " " + timeout.toMillis());
        String reply = readReply();
        if (reply.equals("TIMEOUT")) {
            throw new SocketTimeoutException("rendezvous: key '" + key + "' was not published within "
                    + timeout.toSeconds() + " s");
        }
        return Base64.getDecoder().decode(reply.substring(4));
    }

    /** Atomically adds {@code delta} to the counter {@code key}; returns the new value. */
    public synchronized long add(String key, long delta) throws IOException {
        out.println("ADD " + key + " " + delta);
        return Long.parseLong(readReply().substring(4));
    }

    private void expect(String what) throws IOException {
        String r = readReply();
        if (!r.equals(what)) {
            throw new IOException("rendezvous store answered '" + r + "', expected " + what);
        }
    }

    private String readReply() throws IOException {
        String r = in.readLine();
        if (r == null) {
            throw new IOException("the rendezvous store closed the connection (did rank 0 exit?)");
        }
        return r;
    }

    private static void serveClient(Socket c, Map<String, byte[]> data, Map<String, Integer> readsLeft) {
        try (c; BufferedReader r = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter w = new PrintWriter(new OutputStreamWriter(c.getOutputStream(), StandardCharsets.UTF_8), true)) {
            String line;
            while ((line = r.readLine()) != null) {
                String[] p = line.split(" ", 3);
                switch (p[0]) {
                    case "SET" -> {
                        synchronized (data) {
                            data.put(p[1], Base64.getDecoder().decode(p[2]));
                            readsLeft.remove(p[1]);
                            data.notifyAll();
                        }
                        w.println("OK");
                    }
                    case "SETN" -> {
                        String[] q = p[2].split(" ", 2);
                        synchronized (data) {
                            data.put(p[1], Base64.getDecoder().decode(q[1]));
                            readsLeft.put(p[1], Integer.parseInt(q[0]));
                            data.notifyAll();
                        }
                        w.println("OK");
                    }
                    case "GET" -> {
                        long deadline = System.currentTimeMillis() + Long.parseLong(p[2]);
                        byte[] v;
                        synchronized (data) {
                            while ((v = data.get(p[1])) == null && System.currentTimeMillis() < deadline) {
                                data.wait(Math.max(1, Math.min(200, deadline - System.currentTimeMillis())));
                            }
                            Integer left = v == null ? null : readsLeft.get(p[1]);
                            if (left != null) {
                                if (left <= 1) {
                                    data.remove(p[1]);
                                    readsLeft.remove(p[1]);
                                } else {
                                    readsLeft.put(p[1], left - 1);
                                }
                            }
                        }
                        w.println(v == null ? "TIMEOUT" : "VAL " + Base64.getEncoder().encodeToString(v));
                    }
                    case "ADD" -> {
                        long n;
                        synchronized (data) {
                            byte[] old = data.get(p[1]);
                            n = (old == null ? 0 : Long.parseLong(new String(old, StandardCharsets.UTF_8)))
                                    + Long.parseLong(p[2]);
                            data.put(p[1], Long.toString(n).getBytes(StandardCharsets.UTF_8));
                            data.notifyAll();
                        }
                        w.println("NUM " + n);
                    }
                    default -> w.println("ERR unknown command");
                }
            }
        } catch (IOException | InterruptedException e) {
            // client went away
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        if (server != null) {
            server.close();
            serverThreads.shutdownNow();
        }
    }
}
