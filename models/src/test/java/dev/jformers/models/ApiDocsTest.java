package dev.jformers.models;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every public type of the published modules has a javadoc comment (javadoc's doclint checks the comments' form
 * in the build; its "missing" group, which would also demand @param/@return on every method, is off).
 */
class ApiDocsTest {
    static final List<String> PUBLISHED = List.of("runtime-core", "kernels-cpu", "kernels-opencl", "loaders", "tokenizers",
            "models", "cli", "spark");
    static final Pattern PUBLIC_TYPE = Pattern.compile(
            "^\\s*public\\s+(?:(?:abstract|final|sealed|non-sealed|static|strictfp)\\s+)*(?:class|interface|record|enum|@interface)\\s+\\w+");

    @Test
    void everyPublicTypeHasAComment() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        List<String> undocumented = new ArrayList<>();
        for (String module : PUBLISHED) {
            Path src = root.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java") && !p.endsWith("package-info.java")).toList()) {
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        if (PUBLIC_TYPE.matcher(lines.get(i)).find() && !commented(lines, i)) {
                            undocumented.add(root.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), undocumented);
    }

    /** Above the declaration, past its annotations, a javadoc comment ends before any code does. */
    private static boolean commented(List<String> lines, int decl) {
        for (int i = decl - 1; i >= 0; i--) {
            String l = lines.get(i).strip();
            if (l.endsWith("*/")) {
                return true;
            }
            if (l.endsWith(";") || l.equals("}") || l.endsWith("{}") || l.endsWith("{ }")) {
                return false;
            }
        }
        return false;
    }
}
