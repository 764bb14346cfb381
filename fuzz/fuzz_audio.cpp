// libFuzzer target: the audio file reader (host/io/AudioFile.h) over any bytes, through a
// memory file. Opening, reading a bounded number of frames and seeking must never crash: a bad
// file is an error message.
#include "core/Buffer.h"
#include "host/io/AudioFile.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("fuzz-audio", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (size > 0 && ::write(fd, data, size) != ssize_t(size)) {
        ::close(fd);
        return 0;
    }
    {
        sg::io::AudioFileReader reader;
        const std::string error = reader.open("/proc/self/fd/" + std::to_string(fd));
        if (error.empty() && reader.channels() >= 1 && reader.channels() <= 64) {
            sg::AudioBuffer buffer(reader.channels(), 512);
            std::int64_t total = 0;
            while (total < 65536) { // bounded: a header may declare billions of frames
                const std::int64_t n = reader.read(buffer.view());
                if (n <= 0) break;
                total += n;
            }
            (void)reader.seek(0);
            (void)reader.read(buffer.view());
            (void)reader.formatDescription();
        }
    }
    ::close(fd);
    return 0;
}
