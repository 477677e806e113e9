import { isSpace } from './runes.ts';

/**
 * Collects the words of ProcessWords: unquoted, unescaped blanks (including those produced by a
 * variable's value) separate words; quoted or escaped text never does. An empty quoted string
 * alone makes no word, as in BuildKit.
 */
export class WordSplitter {
  private readonly words: string[] = [];
  private word = '';
  private inWord = false;

  /** A character that splits on blanks (plain text, or text coming from a `$` expansion). */
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  /** Quoted text: kept whole, blanks included. */
  addRawString(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}
