/* Pixmill's AppImage runtime: the executable head of a type-2 AppImage (an ELF program
 * followed by a SquashFS image of the AppDir, found at the end of the ELF file).
 *
 * No registry this project can use ships the AppImage project's prebuilt runtime, so this
 * one is built here from Debian's squashfuse library (libsquashfuse-dev, statically linked
 * with the decompressors, so the result needs nothing from the system but the kernel).
 * It does what the AppImage runtime does without FUSE, the way users on a machine without
 * FUSE run any AppImage:
 *
 *   APP.AppImage [ARGS]                         extract (once), run AppRun ARGS, clean up
 *   APP.AppImage --appimage-extract-and-run ARGS   the same, spelt out
 *   APP.AppImage --appimage-extract [PATH]      unpack into ./squashfs-root (or only PATH)
 *   APP.AppImage --appimage-offset              print where the SquashFS image starts
 *   APP.AppImage --appimage-version / --appimage-help
 *
 * Extract-and-run unpacks into $TMPDIR/appimage_extracted_<hash of the image's superblock
 * and size>, first into a private folder that is renamed into place when complete, so a
 * folder under the final name is always whole and is shared by instances that run at the
 * same time. Each instance holds a shared lock on <folder>.lock while its program runs; the
 * last one to finish (the only one that gets the lock exclusively) removes the folder, unless
 * NO_CLEANUP is set. SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to the program; its
 * exit status (or signal) is this process's.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <squashfuse/squashfuse.h>

/* Offset 8 of the ELF header (EI_PAD): "AI" and the AppImage type, as the spec asks. The
 * build script writes these three bytes into the linked runtime. */
#define RUNTIME_VERSION "pixmill-appimage-runtime 1"
#define COPY_CHUNK (1 << 20)

static pid_t child_pid = -1;

static void die(const char *what) {
    fprintf(stderr, "AppImage runtime: %s: %s\n", what, strerror(errno));
    exit(127);
}

/* Where the SquashFS image starts: the end of the ELF file, i.e. after its section header
 * table (the last thing the linker writes) or its last program segment, whichever is later. */
static off_t elf_end(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path);
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64) {
        fprintf(stderr, "AppImage runtime: %s is not a 64-bit ELF file\n", path);
        exit(127);
    }
    off_t end = (off_t)eh.e_shoff + (off_t)eh.e_shentsize * eh.e_shnum;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t at = (off_t)eh.e_phoff + (off_t)i * eh.e_phentsize;
        if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph) die("reading the program headers");
        if ((off_t)(ph.p_offset + ph.p_filesz) > end) end = (off_t)(ph.p_offset + ph.p_filesz);
    }
    char magic[4];
    if (pread(fd, magic, 4, end) != 4 || memcmp(magic, "hsqs", 4) != 0) {
        fprintf(stderr, "AppImage runtime: no SquashFS image after the runtime in %s\n", path);
        exit(127);
    }
    close(fd);
    return end;
}

static void make_parents(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path);
        *p = '/';
    }
}

/* Unpack the image (every entry, or those matching pattern) below dest. */
static void extract(const char *image, off_t offset, const char *dest, const char *pattern) {
    sqfs fs;
    if (sqfs_open_image(&fs, image, (size_t)offset) != SQFS_OK) exit(127);
    sqfs_traverse trv;
    if (sqfs_traverse_open(&trv, &fs, sqfs_inode_root(&fs)) != SQFS_OK) die("reading the image");
    char *buf = malloc(COPY_CHUNK);
    if (!buf) die("malloc");
    if (mkdir(dest, 0755) != 0 && errno != EEXIST) die(dest);
    sqfs_err err = SQFS_OK;
    while (sqfs_traverse_next(&trv, &err)) {
        if (trv.dir_end) continue;
        if (pattern && fnmatch(pattern, trv.path, 0) != 0 && strncmp(trv.path, pattern, strlen(pattern)) != 0)
            continue;
        sqfs_inode inode;
        if (sqfs_inode_get(&fs, &inode, trv.entry.inode) != SQFS_OK) die(trv.path);
        char out[PATH_MAX];
        if (snprintf(out, sizeof out, "%s/%s", dest, trv.path) >= (int)sizeof out) die("path too long");
        make_parents(out);
        mode_t mode = inode.base.mode & 07777;
        switch (inode.base.inode_type) {
        case SQUASHFS_DIR_TYPE:
        case SQUASHFS_LDIR_TYPE:
            if (mkdir(out, mode | 0700) != 0 && errno != EEXIST) die(out);
            break;
        case SQUASHFS_REG_TYPE:
        case SQUASHFS_LREG_TYPE: {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode | 0600);
            if (fd < 0) die(out);
            sqfs_off_t size = (sqfs_off_t)inode.xtra.reg.file_size;
            for (sqfs_off_t at = 0; at < size;) {
                sqfs_off_t want = size - at < COPY_CHUNK ? size - at : COPY_CHUNK;
                if (sqfs_read_range(&fs, &inode, at, &want, buf) != SQFS_OK || want <= 0)
                    die(trv.path);
                for (sqfs_off_t done = 0; done < want;) {
                    ssize_t n = write(fd, buf + done, (size_t)(want - done));
                    if (n < 0) die(out);
                    done += n;
                }
                at += want;
            }
            if (fchmod(fd, mode) != 0 || close(fd) != 0) die(out);
            break;
        }
        case SQUASHFS_SYMLINK_TYPE:
        case SQUASHFS_LSYMLINK_TYPE: {
            char target[PATH_MAX];
            size_t size = sizeof target;
            if (sqfs_readlink(&fs, &inode, target, &size) != SQFS_OK) die(trv.path);
            unlink(out);
            if (symlink(target, out) != 0) die(out);
            break;
        }
        default: /* devices, FIFOs and sockets have no place in an AppDir */
            break;
        }
    }
    if (err != SQFS_OK) die("walking the image");
    free(buf);
    sqfs_traverse_close(&trv);
    sqfs_destroy(&fs);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS); }

/* A name for this image's extraction: FNV-1a over its superblock and the file's size. */
static uint64_t image_hash(const char *image, off_t offset) {
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    unsigned char sb[96];
    if (fd < 0 || pread(fd, sb, sizeof sb, offset) != (ssize_t)sizeof sb) die(image);
    struct stat st;
    if (fstat(fd, &st) != 0) die(image);
    close(fd);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof sb; i++) h = (h ^ sb[i]) * 1099511628211ULL;
    for (size_t i = 0; i < sizeof st.st_size; i++) h = (h ^ ((uint64_t)st.st_size >> (8 * i) & 0xff)) * 1099511628211ULL;
    return h;
}

/* Pass on a signal sent to this process (kill, a desktop closing the app, the smoke test's
 * terminate()). One the terminal sent to the whole foreground process group (Ctrl-C:
 * si_code SI_KERNEL) has reached the app already: passing it on would deliver it twice. */
static void forward(int sig, siginfo_t *info, void *context) {
    (void)context;
    if (child_pid > 0 && (info == NULL || info->si_code <= 0)) kill(child_pid, sig);
}

static int extract_and_run(const char *image, off_t offset, int argc, char **argv, const char *argv0) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char dir[PATH_MAX], lock[PATH_MAX + 8], part[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/appimage_extracted_%016llx", tmp, (unsigned long long)image_hash(image, offset));
    snprintf(lock, sizeof lock, "%s.lock", dir);
    /* Lock the file that is at that path now: the last instance out unlinks it, so one we
     * opened just before that may be gone by the time we hold it. */
    int lock_fd;
    for (;;) {
        lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd < 0) die(lock);
        if (flock(lock_fd, LOCK_SH) != 0) die(lock);
        struct stat held, now;
        if (fstat(lock_fd, &held) == 0 && stat(lock, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev)
            break;
        close(lock_fd);
    }
    if (access(dir, F_OK) != 0) {
        snprintf(part, sizeof part, "%s.part-%ld", dir, (long)getpid());
        remove_tree(part);
        extract(image, offset, part, NULL);
        if (rename(part, dir) != 0) { /* another instance got there first: use its copy */
            remove_tree(part);
            if (access(dir, F_OK) != 0) die(dir);
        }
    }
    char apprun[PATH_MAX + 8], cwd[PATH_MAX];
    snprintf(apprun, sizeof apprun, "%s/AppRun", dir);
    setenv("APPIMAGE", image, 1);
    setenv("APPDIR", dir, 1);
    setenv("ARGV0", argv0, 1);
    if (getcwd(cwd, sizeof cwd)) setenv("OWD", cwd, 1);

    child_pid = fork();
    if (child_pid < 0) die("fork");
    if (child_pid == 0) {
        char **args = calloc((size_t)argc + 2, sizeof *args);
        if (!args) die("calloc");
        args[0] = apprun;
        for (int i = 0; i < argc; i++) args[i + 1] = argv[i];
        execv(apprun, args);
        die(apprun);
    }
    struct sigaction sa = {0};
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
    int status = 0;
    while (waitpid(child_pid, &status, 0) < 0) {
        if (errno != EINTR) die("waitpid");
    }
    /* The last instance out removes the folder: an exclusive lock means no other holds it. */
    if (!getenv("NO_CLEANUP") && flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
        remove_tree(dir);
        unlink(lock);
    }
    close(lock_fd);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
    char image[PATH_MAX];
    const char *env_image = getenv("TARGET_APPIMAGE");
    if (env_image) {
        if (!realpath(env_image, image)) die(env_image);
    } else {
        ssize_t n = readlink("/proc/self/exe", image, sizeof image - 1);
        if (n < 0) die("/proc/self/exe");
        image[n] = '\0';
    }
    const char *opt = argc > 1 ? argv[1] : "";
    if (strcmp(opt, "--appimage-help") == 0) {
        printf("%s\n  --appimage-extract [PATH]  unpack into ./squashfs-root\n"
               "  --appimage-extract-and-run ARGS  unpack to a temporary folder, run, remove\n"
               "  --appimage-offset  where the SquashFS image starts\n"
               "  --appimage-version\n",
               RUNTIME_VERSION);
        return 0;
    }
    if (strcmp(opt, "--appimage-version") == 0) {
        printf("%s\n", RUNTIME_VERSION);
        return 0;
    }
    off_t offset = elf_end(image);
    if (strcmp(opt, "--appimage-offset") == 0) {
        printf("%lld\n", (long long)offset);
        return 0;
    }
    if (strcmp(opt, "--appimage-extract") == 0) {
        extract(image, offset, "squashfs-root", argc > 2 ? argv[2] : NULL);
        return 0;
    }
    if (strcmp(opt, "--appimage-extract-and-run") == 0) {
        return extract_and_run(image, offset, argc - 2, argv + 2, argv[0]);
    }
    if (strncmp(opt, "--appimage-", 11) == 0) {
        fprintf(stderr, "AppImage runtime: unknown option %s (try --appimage-help)\n", opt);
        return 127;
    }
    /* Without FUSE: every start is an extract-and-run. */
    return extract_and_run(image, offset, argc - 1, argv + 1, argv[0]);
}
