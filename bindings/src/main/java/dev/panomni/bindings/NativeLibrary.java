package dev.panomni.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A native library Panomni calls through FFM, found and loaded the first time one of its functions is used (a
 * missing library costs nothing until then).
 *
 * <p>Where it is looked for, in order:
 * <ol>
 *   <li>the explicit override: system property {@code panomni.<name>.lib}, then environment variable
 *       {@code PANOMNI_<NAME>_LIB} (for example {@code -Dpanomni.nccl.lib=/opt/nccl/lib/libnccl.so.2} or
 *       {@code PANOMNI_NCCL_LIB=/opt/nccl/lib}); a file or the folder holding it;</li>
 *   <li>{@code $CUDA_HOME}/{@code $CUDA_PATH}, {@code /usr/local/cuda/lib64}, {@code /usr/local/cuda-*}{@code /lib64}
 *       (newest first), then folders specific to the library;</li>
 *   <li>the system library folders ({@code /usr/lib/x86_64-linux-gnu}, {@code /usr/lib64}, ...),
 *       {@code LD_LIBRARY_PATH} and the dynamic linker's configured folders ({@code /etc/ld.so.conf});</li>
 *   <li>the {@code lib} folders of NVIDIA's Python wheels ({@code site-packages/nvidia/*}{@code /lib});</li>
 *   <li>last, {@code dlopen} of each file name through the system linker path.</li>
 * </ol>
 * When nothing loads, calls throw {@link NativeLibraryNotFoundException} listing every place searched.
 */
public final class NativeLibrary {
    /** The CUDA driver API ({@code libcuda.so.1}, installed with the NVIDIA driver). */
    public static final NativeLibrary CUDA = builder("cuda", "CUDA driver")
            .files("libcuda.so.1", "libcuda.so")
            .hint("Install the NVIDIA driver (it provides libcuda.so.1); inside a container run with the NVIDIA "
                    + "container toolkit (--gpus all).")
            .build();
    /** cuBLASLt ({@code libcublasLt.so}, CUDA toolkit or the {@code nvidia-cublas} wheel). */
    public static final NativeLibrary CUBLASLT = builder("cublaslt", "cuBLASLt")
            .files("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so")
            .hint("Install the CUDA toolkit's cuBLAS (apt: libcublas-13-0 or libcublas-12-*), or `pip install "
                    + "nvidia-cublas-cu12`.")
            .build();
    /** NVRTC, the runtime CUDA C++ compiler ({@code libnvrtc.so}). */
    public static final NativeLibrary NVRTC = builder("nvrtc", "NVRTC")
            .files("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so")
            .hint("Install the CUDA toolkit's NVRTC (apt: cuda-nvrtc-13-0 or cuda-nvrtc-12-*), or `pip install "
                    + "nvidia-cuda-nvrtc-cu12`.")
            .build();
    /** NCCL, collective communication between GPUs ({@code libnccl.so.2}). */
    public static final NativeLibrary NCCL = builder("nccl", "NCCL")
            .files("libnccl.so.2", "libnccl.so")
            .hint("Install NCCL (apt: libnccl2 from NVIDIA's CUDA repository), or `pip install nvidia-nccl-cu12`.")
            .build();
    /** The C library, through the linker's default lookup (always present; used by tests and small helpers). */
    public static final NativeLibrary C = builder("c", "C library").linkerDefault().build();

    private static final MethodHandle FAIL;

    static {
        try {
            FAIL = MethodHandles.lookup().findStatic(NativeLibrary.class, "fail",
                    MethodType.methodType(Object.class, NativeLibrary.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final String description;
    private final List<String> files;
    private final List<String> extraFolders;
    private final String hint;
    private final boolean linkerDefault;
    private final UnaryOperator<String> env;
    private final UnaryOperator<String> properties;
    private volatile Loaded loaded;

    /** What loading produced: a lookup and where it came from, or the failure. */
    private record Loaded(SymbolLookup lookup, String location, List<String> searched,
                          NativeLibraryNotFoundException failure) {}

    private NativeLibrary(Builder b) {
        this.name = b.name;
        this.description = b.description;
        this.files = List.copyOf(b.files);
        this.extraFolders = List.copyOf(b.extraFolders);
        this.hint = b.hint;
        this.linkerDefault = b.linkerDefault;
        this.env = b.env;
        this.properties = b.properties;
    }

    /** Starts describing a library; {@code name} is its short name ({@code cuda}, {@code libclang}). */
    public static Builder builder(String name, String description) {
        return new Builder(name, description);
    }

    /** The short name used in the override settings ({@code cuda}, {@code nccl}, ...). */
    public String name() {
        return name;
    }

    /** A human name ({@code CUDA driver}). */
    public String description() {
        return description;
    }

    /** The file names tried in each folder, preferred first. */
    public List<String> fileNames() {
        return files;
    }

    /** How to install the library (shown when it is not found). */
    public String hint() {
        return hint;
    }

    /** The system property that overrides the search ({@code panomni.cuda.lib}). */
    public String systemProperty() {
        return "panomni." + name.toLowerCase(Locale.ROOT) + ".lib";
    }

    /** The environment variable that overrides the search ({@code PANOMNI_CUDA_LIB}). */
    public String environmentVariable() {
        return "PANOMNI_" + name.toUpperCase(Locale.ROOT).replace('-', '_') + "_LIB";
    }

    /** Loads the library if that has not been tried yet; true when it is usable. */
    public boolean isAvailable() {
        return load().failure() == null;
    }

    /** Where the library was loaded from, or empty when it was not found. */
    public Optional<String> location() {
        return Optional.ofNullable(load().location());
    }

    /** Every place searched, in order, with what was found there (the last line says where it loaded from). */
    public List<String> searchLog() {
        return load().searched();
    }

    /** The library's symbols; loads it on first use. */
    public SymbolLookup lookup() {
        Loaded l = load();
        if (l.failure() != null) {
            throw copy(l.failure());
        }
        return l.lookup();
    }

    /** The address of {@code symbol}, or empty when the library is missing or does not export it. */
    public Optional<MemorySegment> find(String symbol) {
        Loaded l = load();
        return l.failure() != null ? Optional.empty() : l.lookup().find(symbol);
    }

    /**
     * The address of {@code symbol}.
     *
     * @throws NativeLibraryNotFoundException when the library is missing
     * @throws NativeSymbolNotFoundException when it does not export {@code symbol}
     */
    public MemorySegment symbol(String symbol) {
        return lookup().find(symbol).orElseThrow(() -> new NativeSymbolNotFoundException(
                description + " library " + load().location() + " does not export " + symbol
                        + " (the installed version is probably older than the headers the bindings were generated "
                        + "from). " + hint));
    }

    /**
     * A downcall handle for {@code symbol}. Never fails: when the library or symbol is missing the handle has the
     * same type and throws {@link NativeLibraryNotFoundException} / {@link NativeSymbolNotFoundException} each time
     * it is invoked, so generated bindings can create their handles in static initializers.
     */
    public MethodHandle downcall(String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker linker = Linker.nativeLinker();
        try {
            return linker.downcallHandle(symbol(symbol), descriptor, options);
        } catch (NativeLibraryException e) {
            MethodType type = descriptor.toMethodType();
            if (descriptor.returnLayout().orElse(null) instanceof GroupLayout) {
                type = type.insertParameterTypes(0, SegmentAllocator.class);
            }
            MethodHandle fail = MethodHandles.insertArguments(FAIL, 0, this, symbol)
                    .asType(MethodType.methodType(type.returnType()));
            return MethodHandles.dropArguments(fail, 0, type.parameterList());
        }
    }

    @SuppressWarnings("unused") // called through FAIL
    private static Object fail(NativeLibrary library, String symbol) {
        library.symbol(symbol);
        throw new NativeSymbolNotFoundException(symbol + " could not be linked in " + library.description);
    }

    private static NativeLibraryNotFoundException copy(NativeLibraryNotFoundException e) {
        // A fresh exception per call, so the stack trace shows the caller rather than the first attempt.
        return new NativeLibraryNotFoundException(e.library(), e.searched(), e.getMessage());
    }

    private Loaded load() {
        Loaded l = loaded;
        if (l == null) {
            synchronized (this) {
                l = loaded;
                if (l == null) {
                    l = search();
                    loaded = l;
                }
            }
        }
        return l;
    }

    private Loaded search() {
        if (linkerDefault) {
            return new Loaded(Linker.nativeLinker().defaultLookup(), "the linker's default lookup",
                    List.of("the linker's default lookup: loaded"), null);
        }
        List<String> log = new ArrayList<>();
        String property = properties.apply(systemProperty());
        String variable = env.apply(environmentVariable());
        boolean overridden = false;
        for (String[] setting : new String[][] {{"-D" + systemProperty(), property}, {environmentVariable(), variable}}) {
            if (setting[1] == null || setting[1].isBlank()) {
                log.add(setting[0] + ": not set");
                continue;
            }
            overridden = true;
            Path p = Path.of(setting[1].trim());
            if (Files.isDirectory(p)) {
                Loaded found = tryFolder(p, setting[0], log);
                if (found != null) {
                    return found;
                }
            } else {
                Loaded found = tryFile(p, setting[0], log);
                if (found != null) {
                    return found;
                }
            }
        }
        for (LibrarySearchPath.Folder folder : new LibrarySearchPath(env).folders(extraFolders)) {
            Loaded found = tryFolder(folder.path(), folder.origin(), log);
            if (found != null) {
                return found;
            }
        }
        for (String file : files) {
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(file, Arena.global());
                log.add("dlopen(" + file + ") through the system linker path: loaded");
                return new Loaded(lookup, file + " (system linker path)", List.copyOf(log), null);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                log.add("dlopen(" + file + ") through the system linker path: " + reason(e));
            }
        }
        StringBuilder msg = new StringBuilder();
        msg.append(description).append(" library (").append(String.join(" or ", files)).append(") ")
                .append(overridden ? "could not be loaded from the override or any usual place" : "not found")
                .append(". Searched:\n");
        for (String line : log) {
            msg.append("  ").append(line).append('\n');
        }
        msg.append(hint).append("\nOr point Panomni at it: -D").append(systemProperty()).append("=/path/to/")
                .append(files.getFirst()).append(" or ").append(environmentVariable()).append("=/path/to/")
                .append(files.getFirst()).append(" (the file or its folder).");
        return new Loaded(null, null, List.copyOf(log), new NativeLibraryNotFoundException(name, log, msg.toString()));
    }

    private Loaded tryFolder(Path folder, String origin, List<String> log) {
        if (!Files.isDirectory(folder)) {
            log.add(folder + " (" + origin + "): no such folder");
            return null;
        }
        List<String> present = new ArrayList<>();
        for (String file : files) {
            Path p = folder.resolve(file);
            if (Files.exists(p)) {
                present.add(file);
                Loaded found = tryFile(p, origin, log);
                if (found != null) {
                    return found;
                }
            }
        }
        if (present.isEmpty()) {
            log.add(folder + " (" + origin + "): not there");
        }
        return null;
    }

    private Loaded tryFile(Path file, String origin, List<String> log) {
        if (!Files.exists(file)) {
            log.add(file + " (" + origin + "): no such file");
            return null;
        }
        try {
            SymbolLookup lookup = SymbolLookup.libraryLookup(file, Arena.global());
            log.add(file + " (" + origin + "): loaded");
            return new Loaded(lookup, file.toString(), List.copyOf(log), null);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            log.add(file + " (" + origin + "): present but failed to load: " + reason(e));
            return null;
        }
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    @Override
    public String toString() {
        return description + " (" + name + ")";
    }

    /** Describes a {@link NativeLibrary}. */
    public static final class Builder {
        private final String name;
        private final String description;
        private final List<String> files = new ArrayList<>();
        private final List<String> extraFolders = new ArrayList<>();
        private String hint = "";
        private boolean linkerDefault;
        private UnaryOperator<String> env = System::getenv;
        private UnaryOperator<String> properties = System::getProperty;

        private Builder(String name, String description) {
            this.name = Objects.requireNonNull(name);
            this.description = Objects.requireNonNull(description);
        }

        /** File names to try in each folder, preferred first ({@code libcuda.so.1}). */
        public Builder files(String... names) {
            files.addAll(List.of(names));
            return this;
        }

        /** More folders to search after the CUDA ones; one {@code *} allowed ({@code /usr/lib/llvm-*}{@code /lib}). */
        public Builder folders(String... globs) {
            extraFolders.addAll(List.of(globs));
            return this;
        }

        /** How to install the library, shown when it is not found. */
        public Builder hint(String text) {
            hint = Objects.requireNonNull(text);
            return this;
        }

        /** Use the linker's default lookup (the C library) instead of searching. */
        public Builder linkerDefault() {
            linkerDefault = true;
            return this;
        }

        /** Replaces the environment variables the search reads (tests). */
        public Builder environment(UnaryOperator<String> variables) {
            env = Objects.requireNonNull(variables);
            return this;
        }

        /** Replaces the system properties the search reads (tests). */
        public Builder systemProperties(UnaryOperator<String> props) {
            properties = Objects.requireNonNull(props);
            return this;
        }

        public NativeLibrary build() {
            if (!linkerDefault && files.isEmpty()) {
                throw new IllegalStateException("library " + name + " needs at least one file name");
            }
            return new NativeLibrary(this);
        }
    }
}
